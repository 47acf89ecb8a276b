"""Git that recovers, and conflicts that are a conversation, over the wire against the sandbox.

A stale `index.lock` is cleared and a live one waited for, and the goal is not called done until its
merges have landed; a person's commit that conflicts with a task's diff stops the goal at that task
and asks the thread, and Rebase and rebuild carries it to done; a person's merge left half-way in
the bot's checkout is said in the thread, and the approved PRD is committed (with its mirror
section) once the merge is aborted.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import Session, col, select

from sandbox import Message
from storage.models import Artifact, Effect
from tests.conftest import Live, start_live
from tests.e2e.slack_helpers import BRIEF, card_field, goal

# More attempts than a failing effect used to get before it was given up for good.
MAX_ATTEMPTS = 6

pytestmark = pytest.mark.slow
T = TypeVar("T")
CHANNEL = "C_DEV"
PERSON = ["-c", "user.name=Pat Person", "-c", "user.email=pat@example.invalid"]


@pytest.fixture
def live(tmp_path: Path, target_repo: Path) -> Iterator[Live]:
    # Repairs are looked for every 0.2 s; a git lock counts as stale after an hour (tests age it).
    running = start_live(tmp_path, target_repo, repo_recheck_seconds=0.2, git_stale_lock_seconds=3600)
    try:
        yield running
    finally:
        running.bot.stop()
        running.sb.stop()


def until(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Wait (bounded) for a condition on the database or the repository, which the sandbox cannot see."""
    deadline = time.monotonic() + timeout
    while (result := check()) is None or result is False:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.02)
    return result


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *PERSON, *args], capture_output=True, text=True).stdout


def effects(live: Live, prefix: str) -> list[Effect]:
    with Session(live.container.engine) as session:
        return list(session.exec(select(Effect).where(col(Effect.key).startswith(prefix))).all())


def thread_texts(live: Live, card: Message) -> list[str]:
    return [m.content for m in live.sb.thread(CHANNEL, card.ts)]


def said_done(live: Live, card: Message) -> list[str]:
    """Everything sent to Slack about this goal so far that claims it is done."""
    texts = [str(c.args.get("text", "")) + str(c.args.get("blocks", "")) for c in live.sb.calls()]
    return [t for t in texts if "🎉" in t or "is done" in t]


def start(live: Live) -> Message:
    assert live.sb.slash("U_REQ", CHANNEL, f"start {BRIEF}").status == 200
    return live.sb.wait_for_message(CHANNEL, text_contains="G-0001")


def approve_until(live: Live, card: Message, stop: Callable[[], bool], limit: int = 20) -> None:
    """Click Approve on each artifact as it comes until `stop()` holds before a click."""
    for _ in range(limit):
        message = live.sb.wait_for_message(CHANNEL, thread_ts=card.ts, button="Approve", timeout=30)
        if stop():
            return
        live.sb.click("U_APP1", message, "Approve")
        live.sb.wait_for(
            lambda m=message: "Approve" not in live.sb.message(CHANNEL, m.ts).buttons,
            timeout=30,
            what="the decision to replace the buttons",
        )
    raise AssertionError("never reached the step")


def at_diff(live: Live, *, last: bool = False) -> bool:
    g = goal(live)
    if g.phase != "implementation" or g.status != "awaiting_approval":
        return False
    open_tasks = [t for t in g.tasks if t.get("status") != "done"]
    return not last or len(open_tasks) == 1


def test_a_stale_lock_is_cleared_a_live_one_waited_for_and_done_is_said_only_once_merged(
    live: Live,
) -> None:
    repo = live.repo
    lock = repo / ".git" / "index.lock"
    card = start(live)
    # A process killed mid-commit left git's index lock behind an hour ago; nothing runs git here.
    lock.write_text("")
    hour_ago = time.time() - 3600 - 60
    os.utime(lock, (hour_ago, hour_ago))

    approve_until(live, card, lambda: at_diff(live, last=True))
    assert not lock.exists()  # found stale and removed: every commit so far went through
    assert [e.key for e in effects(live, "") if e.status == "failed"] == []

    # A git command of a person is running now (its lock is fresh): the last merge must wait for it.
    lock.write_text("")
    message = live.sb.wait_for_message(CHANNEL, thread_ts=card.ts, button="Approve")
    live.sb.click("U_APP1", message, "Approve")
    merge = until(
        lambda: next(
            (e for e in effects(live, "merge:") if e.last_error and "index.lock" in e.last_error), None
        ),
        "the last merge to meet the held lock",
    )
    assert merge.status == "pending"
    # The card and the thread tell the truth meanwhile: approved, merging, not done.
    assert goal(live).state == "active"
    assert card_field(live, card.ts, "Status") != "🎉 Done"
    assert said_done(live, card) == []

    # The lock's holder is gone and the lock is old: it is removed, the merge lands, the goal is done.
    os.utime(lock, (hour_ago, hour_ago))
    live.sb.wait_for_message(CHANNEL, thread_ts=card.ts, text_contains="is done", timeout=30)
    assert not lock.exists()
    tasks = goal(live).tasks
    merges = git(repo, "log", "--format=%s", "--grep=merge task").splitlines()
    assert len(merges) == len(tasks) and all(t.get("merge_commit") for t in tasks)
    live.bot.drain()
    live.sb.wait_for(lambda: card_field(live, card.ts, "Status") == "🎉 Done", what="the card to say Done")
    assert {e.status for e in effects(live, "")} == {"done"}


def test_a_conflicting_merge_asks_the_thread_and_rebase_and_rebuild_recovers(live: Live) -> None:
    repo = live.repo
    card = start(live)
    approve_until(live, card, lambda: at_diff(live))
    with Session(live.container.engine) as session:
        diff = session.exec(select(Artifact).where(Artifact.phase == "implementation")).one()
    path = re.search(r"^\+\+\+ b/(src/\S+\.py)$", diff.content, re.M)
    assert path is not None, diff.content
    # Meanwhile a person commits their own version of that very file on main.
    (repo / path.group(1)).parent.mkdir(parents=True, exist_ok=True)
    (repo / path.group(1)).write_text('"""Written by hand."""\n\nVALUE = 42\n')
    git(repo, "add", path.group(1))
    git(repo, "commit", "-q", "--no-verify", "-m", "Hand-written module")

    message = live.sb.wait_for_message(CHANNEL, thread_ts=card.ts, button="Approve")
    live.sb.click("U_APP1", message, "Approve")
    conflict = live.sb.wait_for_message(
        CHANNEL, thread_ts=card.ts, button="Rebase and rebuild", text_contains="conflicts", timeout=30
    )
    assert path.group(1) in conflict.content
    assert conflict.buttons == ["Rebase and rebuild", "Request changes", "Cancel goal"]
    live.sb.wait_for(
        lambda: card_field(live, card.ts, "Status").startswith("🧱 Blocked"), what="the card to say Blocked"
    )
    assert goal(live).state == "active" and said_done(live, card) == []
    assert "merge task 1" not in git(repo, "log", "--format=%s")

    # Only the requester or an approver decides; Request changes asks for notes in a modal.
    live.sb.click("U_OUT", conflict, "Rebase and rebuild")
    live.sb.wait_for_ephemeral("U_OUT", text_contains="Only the requester or an approver")
    live.sb.click("U_APP2", conflict, "Request changes")
    live.sb.wait_for_view("U_APP2", "orch_conflict_feedback_modal")
    live.sb.close_view("U_APP2")
    assert goal(live).status == "blocked"

    live.sb.click("U_APP2", conflict, "Rebase and rebuild")
    live.sb.wait_for(
        lambda: "Rebase and rebuild" not in live.sb.message(CHANNEL, conflict.ts).buttons,
        what="the choice to replace the buttons",
    )
    live.sb.wait_for_message(
        CHANNEL, thread_ts=card.ts, button="Approve", text_contains="task 1 v2", timeout=30
    )
    live.decide_all("U_APP1", card.ts)  # the rebuilt diff, then the tasks after it, until done
    assert "merge task 1" in git(repo, "log", "--format=%s")
    assert (repo / path.group(1)).read_text() == '"""Written by hand."""\n\nVALUE = 42\n'  # the person's work
    assert all(t.get("merge_commit") for t in goal(live).tasks)


def test_a_merge_left_half_way_is_said_and_the_prd_is_committed_once_it_is_cleared(live: Live) -> None:
    repo = live.repo
    card = start(live)
    approve_until(live, card, lambda: goal(live).phase == "prd")
    until(lambda: "approve Scaffold Check" in git(repo, "log", "--format=%B") or None, "the scaffold commits")
    # A person merges a branch into the bot's checkout, hits a conflict, and leaves it for later.
    git(repo, "switch", "-q", "-c", "feature")
    (repo / "README.md").write_text("# Target service\n\nFeature text.\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "Feature README")
    git(repo, "switch", "-q", "main")
    (repo / "README.md").write_text("# Target service\n\nMain text.\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "Main README")
    git(repo, "merge", "-q", "feature")
    assert (repo / ".git" / "MERGE_HEAD").exists()

    prd = live.sb.wait_for_message(CHANNEL, thread_ts=card.ts, button="Approve", text_contains="PRD v1")
    live.sb.click("U_APP1", prd, "Approve")
    note = live.sb.wait_for_message(
        CHANNEL, thread_ts=card.ts, text_contains="merge is in progress", timeout=30
    )
    assert "README.md" in note.content and "git merge --abort" in note.content

    # It keeps waiting, well past the attempts a failing effect has, and uses none of them.
    seen: set[object] = set()

    def looked_again() -> bool | None:
        [publish] = [e for e in effects(live, "publish:G-0001:prd:") if e.kind == "repo.publish_artifact"]
        seen.add(publish.not_before)
        return len(seen) > MAX_ATTEMPTS + 2 and publish.status == "pending" and publish.attempts <= 1

    until(looked_again, "the PRD's commit to be looked at again and again")
    assert "approve PRD" not in git(repo, "log", "--format=%B")
    notes = [t for t in thread_texts(live, card) if "merge is in progress" in t]
    assert len(notes) == 1  # said once

    git(repo, "merge", "--abort")
    until(lambda: "approve PRD" in git(repo, "log", "--format=%B") or None, "the PRD to be committed")
    mirror = git(repo, "show", "HEAD:docs/PRD.md") + git(repo, "show", "main:docs/PRD.md")
    assert "G-0001" in mirror
    assert [e.key for e in effects(live, "") if e.status == "failed"] == []
