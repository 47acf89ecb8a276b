"""Slack down for a minute in the middle of a goal, or answering after the client gave up: the goal
completes with every post and every commit exactly once, and no effect ends failed.

The bot's clock is in the test's hand: "60 s" of outage is the clock moved by 60 s while every
Web API call fails, with the outbox running whatever comes due; nothing here sleeps.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from storage.models import Artifact, Effect
from tests.conftest import Live, start_live
from tests.e2e.slack_helpers import goal, start_goal


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def effects(live: Live) -> list[Effect]:
    with Session(live.container.engine) as session:
        return list(session.exec(select(Effect).order_by(col(Effect.id))).all())


def pass_time(live: Live, clock: Clock, seconds: int, step: int = 5) -> None:
    """Move the bot's clock in steps, letting the outbox run what comes due at each."""
    for _ in range(seconds // step):
        clock.advance(seconds=step)
        live.container.dispatcher.kick()
        live.bot.drain()


def trailers(repo: Path) -> Counter[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    return Counter(
        line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Orch-Effect:")
    )


def assert_each_post_once(live: Live) -> None:
    """Every message the outbox posted (known by the marker of its effect) was posted once."""
    marks: Counter[str] = Counter()
    ready: Counter[str] = Counter()
    for call in live.sb.calls("chat.postMessage"):
        if call.status != 200 or call.error:
            continue
        blocks = call.args.get("blocks") or []
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        if blocks and str(blocks[0].get("block_id", "")).startswith("orch-"):
            marks[blocks[0]["block_id"]] += 1
        if "is ready for review" in str(call.args.get("text")):
            ready[str(call.args["text"])] += 1
    assert marks and [mark for mark, n in marks.items() if n > 1] == []
    assert len(ready) >= 5 and max(ready.values()) == 1, ready  # each artifact and diff once


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["http500", "internal_error", "ratelimited"])
def test_a_minute_of_slack_outage_mid_goal_is_outlasted_with_every_post_and_commit_once(
    tmp_path: Path, target_repo: Path, kind: str
) -> None:
    clock = Clock()
    live = start_live(tmp_path, target_repo, clock=clock)
    try:
        card, scaffold = start_goal(live)
        live.sb.outage(kind, retry_after=30)
        live.sb.click("U_APP1", scaffold, "Approve")
        live.bot.drain()
        pass_time(live, clock, 60)

        # Slack refused everything for a minute: the PRD is drafted and its commits go on, but
        # nothing is posted, nothing gave up, and the goal's Slack effects wait in order.
        failed_calls = [c for c in live.sb.calls() if c.status != 200 or c.error]
        assert len(failed_calls) >= 3
        assert [e.key for e in effects(live) if e.status == "failed"] == []
        waiting = [e for e in effects(live) if e.status == "pending" and e.failing_since is not None]
        assert waiting and all(e.kind.startswith(("slack.", "notify.")) for e in waiting)
        assert not any("PRD v1 is ready" in m.text for m in live.sb.thread("C_DEV", card.ts))

        live.sb.outage(None)
        pass_time(live, clock, 600, step=60)  # the longest backoff step is five minutes
        live.sb.wait_for_message(
            "C_DEV", thread_ts=card.ts, text_contains="PRD v1", button="Approve", timeout=20
        )
        live.decide_all("U_APP1", card.ts)
        live.bot.drain()  # the last card update follows the "done" note

        assert goal(live).state == "done"
        assert [e.key for e in effects(live) if e.status != "done"] == []
        assert_each_post_once(live)
        commits = trailers(live.repo)
        assert commits and max(commits.values()) == 1, commits
        assert len([m for m in live.sb.thread("C_DEV", card.ts) if "is done:" in m.text]) == 1
    finally:
        live.bot.stop()
        live.sb.stop()


@pytest.mark.slow
def test_a_post_slack_answered_after_the_clients_timeout_is_found_and_not_posted_again(
    tmp_path: Path, target_repo: Path
) -> None:
    clock = Clock()
    live = start_live(tmp_path, target_repo, clock=clock, slack_timeout=0.5)
    try:
        card, scaffold = start_goal(live)
        live.sb.answer_late("chat.postMessage", text_contains="PRD v1 is ready")
        live.sb.click("U_APP1", scaffold, "Approve")
        posted = live.sb.wait_for_message(
            "C_DEV", thread_ts=card.ts, text_contains="PRD v1 is ready", timeout=20
        )
        live.bot.drain()  # the post's lane ends when the client gives up on the answer

        post = next(e for e in effects(live) if e.kind == "slack.post_artifact" and e.status == "pending")
        assert "timed out" in (post.last_error or "") and post.failing_since is not None
        live.sb.release_late()
        # The first look for it is refused too (Slack still struggling): that is no "not posted".
        live.sb.ratelimit("conversations.replies", 1, retry_after=30)
        pass_time(live, clock, 90)

        with Session(live.container.engine) as session:
            prd = session.exec(select(Artifact).where(Artifact.phase == "prd")).one()
        assert prd.message_ts == posted.ts
        assert len([m for m in live.sb.thread("C_DEV", card.ts) if "PRD v1 is ready" in m.text]) == 1
        assert (
            len([c for c in live.sb.calls("chat.postMessage") if "PRD v1 is" in str(c.args.get("text"))]) == 1
        )
        assert [e.key for e in effects(live) if e.status == "failed"] == []
    finally:
        live.sb.release_late()
        live.bot.stop()
        live.sb.stop()


REFUSE_REF_UPDATES = (
    "#!/bin/sh\n# The repository refuses every commit (as a read-only or broken one would).\n"
    '[ "$1" = prepared ] && exit 1\nexit 0\n'
)


@pytest.mark.slow
def test_a_commit_that_finally_fails_is_said_in_the_thread_and_retry_there_finishes_the_goal(
    tmp_path: Path, target_repo: Path
) -> None:
    clock = Clock()
    live = start_live(tmp_path, target_repo, clock=clock, effect_retry_hours=0.05)  # three minutes
    sb = live.sb
    hook = target_repo / ".git" / "hooks" / "reference-transaction"
    try:
        card, scaffold = start_goal(live)
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(REFUSE_REF_UPDATES)
        hook.chmod(0o755)
        sb.click("U_APP1", scaffold, "Approve")
        live.bot.drain()
        pass_time(live, clock, 240, step=30)

        # One message says what failed and what to do, with Retry and Cancel; nothing after the
        # failed commit has happened, and the card does not pretend otherwise.
        failure = sb.wait_for_message("C_DEV", thread_ts=card.ts, text_contains="failed", button="Retry")
        assert "committing" in failure.text and "Retry" in failure.text
        assert set(sb.buttons(failure)) >= {"Retry", "Cancel goal"}
        assert len([m for m in sb.thread("C_DEV", card.ts) if "Retry" in sb.buttons(m)]) == 1
        stuck = [e for e in effects(live) if e.status == "failed"]
        assert len(stuck) == 1 and stuck[0].kind.startswith("repo.")
        assert goal(live).state == "active"

        sb.open_home("U_APP1")
        home = sb.wait_for(
            lambda: (view := sb.home("U_APP1")) and "Needs attention" in view.render() and view.render(),
            what="the approver's Home to list the goal that needs attention",
        )
        assert "Needs attention* (1)" in home and "G-0001" in home

        # Someone who is neither the requester nor an approver cannot retry it.
        sb.slash("U_OUT", "C_DEV", "retry G-0001")
        refused = sb.wait_for_ephemeral("U_OUT", "C_DEV", text_contains="Only the requester or an approver")
        assert "G-0001" in refused.text

        hook.unlink()  # a person repaired the repository
        sb.click("U_APP1", failure, "Retry")
        sb.wait_for(
            lambda: (
                "pressed Retry" in sb.message("C_DEV", failure.ts).content
                and not sb.buttons(sb.message("C_DEV", failure.ts))
            ),
            what="the failure message to say it was retried",
        )
        live.bot.drain()
        live.decide_all("U_APP1", card.ts)
        live.bot.drain()

        assert goal(live).state == "done"
        assert [e.key for e in effects(live) if e.status != "done"] == []
        commits = trailers(live.repo)
        assert commits[stuck[0].key] == 1 and max(commits.values()) == 1, commits
        assert_each_post_once(live)
    finally:
        hook.unlink(missing_ok=True)
        live.bot.stop()
        live.sb.stop()


@pytest.mark.slow
def test_cancel_on_a_failure_message_stops_the_goal_and_its_closing_messages_still_go_out(
    tmp_path: Path, target_repo: Path
) -> None:
    clock = Clock()
    live = start_live(tmp_path, target_repo, clock=clock, effect_retry_hours=0.05)
    sb = live.sb
    hook = target_repo / ".git" / "hooks" / "reference-transaction"
    try:
        card, scaffold = start_goal(live)
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(REFUSE_REF_UPDATES)
        hook.chmod(0o755)
        sb.click("U_APP1", scaffold, "Approve")
        live.bot.drain()
        pass_time(live, clock, 240, step=30)
        failure = sb.wait_for_message(
            "C_DEV", thread_ts=card.ts, text_contains="failed", button="Cancel goal"
        )

        sb.click("U_REQ", failure, "Cancel goal")
        sb.wait_for(
            lambda: "cancelled G-0001" in sb.message("C_DEV", failure.ts).content,
            what="the failure message to say the goal was cancelled",
        )
        live.bot.drain()
        # The failed commit no longer holds the goal: the card tells the end of the story.
        sb.wait_for(
            lambda: "Cancelled" in sb.message("C_DEV", card.ts).content, what="the card to say Cancelled"
        )
        assert goal(live).state == "cancelled"
    finally:
        hook.unlink(missing_ok=True)
        live.bot.stop()
        live.sb.stop()
