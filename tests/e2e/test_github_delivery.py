"""Delivery to a Git host over real HTTP: Slack (the sandbox) and GitHub (the stand-in, git over
smart HTTP). `/orch start` → goal branch and draft pull request linking the thread → gates approved
→ the last approval merges the pull request → a fresh clone of the base branch holds everything."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from bot.forge.remote import run_remote
from sandbox.github import GitHubStandIn
from sandbox.github.hooks import sign
from storage.models import Effect
from tests.conftest import Live, init_repo, start_live

TOKEN = "ghp_" + "Q9w8E7r6T5y4U3i2O1p0A9s8D7f6G5h4J3k2"
HOOK_SECRET = "hook-secret-for-tests"
BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."


@dataclass
class Stack:
    live: Live
    hub: GitHubStandIn


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with github_stack(tmp_path) as running:
        yield running


@contextlib.contextmanager
def github_stack(tmp_path: Path, **overrides: Any) -> Iterator[Stack]:
    hub = GitHubStandIn(tmp_path / "github", token=TOKEN).start()
    hub.create_repo("acme", "billing", seed=init_repo(tmp_path / "seed"))
    # A clone URL where a local path used to be: the bot keeps its own clones under its data directory.
    url: Any = hub.clone_url("acme", "billing")
    values: dict[str, Any] = {
        "github_token": TOKEN,
        "github_api_url": hub.api_url,
        "github_webhook_secret": HOOK_SECRET,
        "data_dir": tmp_path / "data",
    }
    values.update(overrides)
    live = start_live(tmp_path, url, **values)
    if values["github_webhook_secret"]:
        hub.add_webhook(f"{live.bot.url}/github/events", HOOK_SECRET)
    try:
        yield Stack(live, hub)
    finally:
        live.bot.stop()
        live.sb.stop()
        hub.stop()


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True).stdout


def _no_token_anywhere(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    """The GitHub token is in no log line, database row, Slack message or clone's config."""
    assert TOKEN not in caplog.text
    db = Path(str(stack.live.settings.database_url).removeprefix("sqlite:///"))
    for path in db.parent.glob(db.name + "*"):  # the database and its WAL
        assert TOKEN.encode() not in path.read_bytes()
    for message in stack.live.sb.messages("C_DEV"):
        assert TOKEN not in message.content
        for reply in stack.live.sb.thread("C_DEV", message.ts):
            assert TOKEN not in reply.content
    for config in Path(stack.live.settings.data_dir).rglob("config"):
        assert TOKEN not in config.read_text(errors="replace")


def test_a_goal_is_delivered_as_a_pull_request_that_the_last_approval_merges(
    stack: Stack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    live, hub = stack.live, stack.hub
    assert live.settings.delivery == "pull_request"
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")

    # The goal branch is pushed and a draft pull request opened, linking back to the Slack thread.
    note = live.sb.wait_for(
        lambda: next((m for m in live.sb.thread("C_DEV", card.ts) if "pull request opened" in m.text), None),
        timeout=30,
        what="the draft pull request's note in the thread",
    )
    remote = hub.repo("acme/billing")
    pr = remote.pulls[1]
    assert pr["draft"] and pr["head"] == "orch/G-0001" and pr["base"] == "main"
    assert pr["title"].startswith("G-0001: ") and "/pull/1" in note.text
    assert f"/archives/C_DEV/p{card.ts.replace('.', '')}" in pr["body"]
    assert "Finance downloads it from the admin page" in pr["body"]
    assert hub.state.context_state(remote, remote.branch_sha("orch/G-0001") or "", "orch/gates") == "pending"
    # The goal card links the pull request too.
    live.sb.wait_for(
        lambda: "/acme/billing/pull/1|Pull request>" in live.sb.message("C_DEV", card.ts).content,
        timeout=30,
        what="the card's pull request link",
    )

    live.decide_all("U_APP1", card.ts)
    live.sb.wait_for(
        lambda: any("merged into `main`" in m.text for m in live.sb.thread("C_DEV", card.ts)),
        timeout=30,
        what="the merge note in the thread",
    )

    assert pr["merged"] and pr["state"] == "closed" and not pr["draft"]
    assert "| PRD | v1 |" in pr["body"] and "U_APP1" in pr["body"]
    assert hub.state.context_state(remote, pr["head_sha"], "orch/gates") == "success"

    fresh = tmp_path / "fresh"
    url = hub.clone_url("acme", "billing")
    run_remote(["clone", "--quiet", "--", url, str(fresh)], cwd=tmp_path, url=url, token=TOKEN)
    assert (fresh / "docs" / "PRD.md").exists() and (fresh / "tasks" / "G-0001" / "prd.md").exists()
    index = json.loads((fresh / "tasks" / "index.json").read_text())
    assert [g["id"] for g in index["goals"]] == ["G-0001"] and index["goals"][0]["state"] == "done"
    log = _git(fresh, "log", "--format=%B%x00", "main")
    assert "Merge pull request #1 from acme/orch/G-0001" in log
    assert "Goal-Id: G-0001" in log and "Phase: prd" in log and "Approved-By: U_APP1" in log
    assert "Orch-Effect: publish:G-0001:started" in log
    assert "Task-Id: " in log  # the code: merged task diffs, with their trailers
    assert TOKEN not in log and TOKEN not in (fresh / ".git" / "config").read_text()
    _no_token_anywhere(stack, caplog)


def test_rejecting_the_goal_closes_its_pull_request_and_fails_the_gates_status(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    live, hub = stack.live, stack.hub
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    live.sb.wait_for(
        lambda: any("pull request opened" in m.text for m in live.sb.thread("C_DEV", card.ts)),
        timeout=30,
        what="the draft pull request",
    )
    artifact = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Reject")
    live.sb.click("U_APP2", artifact, "Reject")
    live.sb.wait_for_view("U_APP2", "orch_reject_modal")
    live.sb.submit_view("U_APP2", {"reason": "Wrong repository for this work"})
    live.sb.wait_for(
        lambda: any("closed; the branch is kept" in m.text for m in live.sb.thread("C_DEV", card.ts)),
        timeout=30,
        what="the pull request's closing note",
    )
    remote = hub.repo("acme/billing")
    pr = remote.pulls[1]
    assert pr["state"] == "closed" and not pr["merged"]
    assert remote.branch_sha("orch/G-0001") == pr["head_sha"]  # the branch is kept
    assert hub.state.context_state(remote, pr["head_sha"], "orch/gates") == "failure"
    assert remote.branch_sha("main") == pr["base_sha"]  # nothing reached the base branch
    _no_token_anywhere(stack, caplog)


def _idle(live: Live) -> bool:
    """No repository effect is pending: from here on only a webhook can start another delivery."""
    with Session(live.container.engine) as session:
        pending = select(Effect.id).where(Effect.status == "pending", col(Effect.kind).startswith("repo."))
        return not session.exec(pending).first()


def _until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    """A bounded wait for a database condition (the sandbox's wait_for wakes only on Slack changes)."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        tick.wait(0.02)


def _note(live: Live, card_ts: str, text: str) -> Any:
    return live.sb.wait_for(
        lambda: next((m for m in live.sb.thread("C_DEV", card_ts) if text in m.text), None),
        timeout=30,
        what=f"a thread message with {text!r}",
    )


def test_branch_protection_refusal_is_said_in_the_thread_and_a_green_check_merges(stack: Stack) -> None:
    live, hub = stack.live, stack.hub
    hub.state.require_status("acme/billing", "main", "ci")
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")

    # A webhook with a bad signature is refused and changes nothing.
    body = json.dumps({"branches": [{"name": "orch/G-0001"}], "state": "success", "context": "ci"}).encode()
    bad = httpx.post(
        f"{live.bot.url}/github/events",
        content=body,
        headers={"X-GitHub-Event": "status", "X-Hub-Signature-256": sign("wrong-secret", body)},
    )
    assert bad.status_code == 401
    with Session(live.container.engine) as session:
        assert not session.exec(select(Effect).where(col(Effect.key).startswith("deliver:github:"))).all()

    live.decide_all("U_APP1", card.ts)
    _note(live, card.ts, 'Required status check "ci" is expected.')
    remote = hub.repo("acme/billing")
    pr = remote.pulls[1]
    assert pr["state"] == "open" and not pr["merged"] and not pr["draft"]
    _until(lambda: _idle(live), timeout=30, what="the repository effects to be done")

    # CI reports through the webhook: a failing check is said, and the merge waits.
    hub.state.add_check_run(remote, name="ci", head_sha=pr["head_sha"], conclusion="failure")
    refused = _note(live, card.ts, 'Required status check "ci" is failure.')
    assert not pr["merged"] and "Retry merge" in live.sb.buttons(refused)
    ci = _note(live, card.ts, "1 failed — failing:")  # CI comes back into the thread
    assert ci.text.startswith("❌ CI on ")

    # CI turns green while the webhook is down: Retry in the thread merges it.
    _until(lambda: _idle(live), timeout=30, what="the repository effects to be done")
    hub.app.hooks.targets.clear()
    hub.state.add_check_run(remote, name="ci", head_sha=pr["head_sha"], conclusion="success")
    live.sb.click("U_OUT", refused, "Retry merge")  # neither requester nor approver: refused
    live.sb.wait_for_ephemeral("U_OUT", "C_DEV", text_contains="Only the requester or an approver")
    assert not pr["merged"]
    live.sb.click("U_REQ", refused, "Retry merge")
    _note(live, card.ts, "merged into `main`")
    assert pr["merged"] and remote.branch_sha("main") == pr["merge_commit_sha"]
    assert all(sent["status"] == 200 for sent in hub.app.hooks.sent)
    # One CI message, edited in place.
    assert [m.ts for m in live.sb.thread("C_DEV", card.ts) if "CI on " in m.text] == [ci.ts]
    assert live.sb.message("C_DEV", ci.ts).text.startswith("✅ CI on ")


def test_a_person_pushing_to_the_goal_branch_is_said_in_the_thread_and_nothing_is_lost(
    stack: Stack, tmp_path: Path
) -> None:
    live, hub = stack.live, stack.hub
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    _note(live, card.ts, "pull request opened")
    url = hub.clone_url("acme", "billing")
    person = tmp_path / "person"
    run_remote(
        ["clone", "--quiet", "--branch", "orch/G-0001", "--", url, str(person)],
        cwd=tmp_path,
        url=url,
        token=TOKEN,
    )
    (person / "NOTES.md").write_text("a person's own commit\n")
    _git(person, "add", "NOTES.md")
    _git(person, "commit", "-q", "-m", "A person's commit on the goal branch")
    run_remote(["push", "--quiet", "origin", "HEAD:orch/G-0001"], cwd=person, url=url, token=TOKEN)
    theirs = _git(person, "rev-parse", "HEAD").strip()

    artifact = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")
    live.sb.click("U_APP1", artifact, "Approve")  # the approval's commit cannot be pushed over theirs
    note = _note(live, card.ts, "refused the bot's push to")
    assert "Retry merge" in live.sb.buttons(note)
    assert hub.repo("acme/billing").branch_sha("orch/G-0001") == theirs  # their commit is kept
    clone = Path(live.settings.data_dir) / "repos" / "acme+billing" / "goals" / "G-0001"
    assert "approve Scaffold Check" in _git(clone, "log", "-1", "--format=%s", "delivery")  # and ours


def test_two_goals_side_by_side_both_merge_with_their_files_of_record_combined(
    stack: Stack, tmp_path: Path
) -> None:
    live, hub = stack.live, stack.hub
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    first = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    live.sb.slash(
        "U_REQ", "C_DEV", "start Send a weekly digest email of overdue invoices to the finance team."
    )
    second = live.sb.wait_for_message("C_DEV", text_contains="G-0002")
    _note(live, first.ts, "pull request opened")
    _note(live, second.ts, "pull request opened")  # both branches start from the same base

    live.decide_all("U_APP1", first.ts)
    _note(live, first.ts, "merged into `main`")
    live.decide_all("U_APP1", second.ts)
    _note(live, second.ts, "merged into `main`")  # not refused: index, events and mirrors combine

    fresh = tmp_path / "fresh"
    url = hub.clone_url("acme", "billing")
    run_remote(["clone", "--quiet", "--", url, str(fresh)], cwd=tmp_path, url=url, token=TOKEN)
    index = json.loads((fresh / "tasks" / "index.json").read_text())
    assert [(g["id"], g["state"]) for g in index["goals"]] == [("G-0001", "done"), ("G-0002", "done")]
    prd = (fresh / "docs" / "PRD.md").read_text()
    assert "G-0001" in prd and "G-0002" in prd and "<<<<<<<" not in prd
    events = (fresh / "tasks" / "events.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in events) and {json.loads(e)["goal"] for e in events} >= {
        "G-0001",
        "G-0002",
    }
    assert "orch(G-0002): bring main into orch/G-0002" in _git(fresh, "log", "--format=%s", "main")


def test_the_manager_implementer_builds_in_the_goal_clone_and_its_merges_reach_the_pull_request(
    tmp_path: Path,
) -> None:
    from agents.testing import assistant_message

    from tests.integration.test_manager_restart import NAMES, Scripted, scripted, task_steps

    # The default implementer once a model is configured; only the models are scripted.
    with github_stack(tmp_path, implementer="manager", openai_base_url="http://127.0.0.1:9/v1") as stack:
        live, hub = stack.live, stack.hub
        assert live.settings.delivery == "pull_request" and live.settings.implementer == "manager"
        manager = live.container.manager
        steps: dict[str, list[Any]] = {role: [] for role in NAMES}
        for task in range(1, 6):
            one = task_steps(task)
            one["manager"].append([assistant_message(f"Task {task} approved and merged.")])
            for role in NAMES:
                steps[role] += one[role]
        manager.model_provider, manager.models = Scripted(scripted(steps)), dict(NAMES)

        live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        live.decide_all("U_APP1", card.ts)
        _note(live, card.ts, "merged into `main`")
        pr = hub.repo("acme/billing").pulls[1]
        assert pr["merged"]
        # The builds happened in the goal's clone (whose branch is delivered), not the process clone.
        process_clone = Path(live.settings.repo)
        assert "merge task 1" not in _git(process_clone, "log", "--format=%B", "-5")
        fresh = tmp_path / "fresh"
        url = hub.clone_url("acme", "billing")
        run_remote(["clone", "--quiet", "--", url, str(fresh)], cwd=tmp_path, url=url, token=TOKEN)
        log = _git(fresh, "log", "--format=%B%x00", "main")
        assert "Task-Id: 1" in log and "Goal-Id: G-0001" in log


def test_a_person_changing_an_approved_document_on_the_goal_branch_makes_its_approval_stale(
    stack: Stack, tmp_path: Path
) -> None:
    from storage.audit import AuditEntry

    live, hub = stack.live, stack.hub
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    _note(live, card.ts, "pull request opened")
    for _ in range(2):  # the Scaffold Check, then the PRD
        artifact = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")
        live.sb.click("U_APP1", artifact, "Approve")
        live.sb.wait_for(
            lambda m=artifact: "Approve" not in live.sb.buttons(live.sb.message("C_DEV", m.ts)),
            timeout=30,
            what="the decision to replace the buttons",
        )
    remote = hub.repo("acme/billing")
    prd = "tasks/G-0001/prd.md"

    def published() -> bool:
        shown = subprocess.run(
            ["git", "-C", str(remote.path), "cat-file", "-e", f"refs/heads/orch/G-0001:{prd}"], check=False
        )
        return shown.returncode == 0 and _idle(live)

    _until(published, timeout=30, what="the approved PRD on the goal branch")
    url = hub.clone_url("acme", "billing")
    person = tmp_path / "person"
    run_remote(
        ["clone", "--quiet", "--branch", "orch/G-0001", "--", url, str(person)],
        cwd=tmp_path,
        url=url,
        token=TOKEN,
    )
    (person / prd).write_text((person / prd).read_text() + "\nAlso export to Excel.\n")
    _git(person, "commit", "-q", "-am", "A person widens the PRD")
    run_remote(["push", "--quiet", "origin", "HEAD:orch/G-0001"], cwd=person, url=url, token=TOKEN)
    head = _git(person, "rev-parse", "HEAD").strip()

    # The push webhook tells the bot; the thread says which approval no longer counts.
    note = _note(live, card.ts, "was changed on the goal branch after it was approved")
    assert f"`{prd}` (PRD v1)" in note.text and "no longer counts" in note.text
    assert hub.state.context_state(remote, head, "orch/gates") == "pending"
    statuses = [s for s in hub.state.latest_statuses(remote, head) if s["context"] == "orch/gates"]
    assert "Changed on the branch after approval: PRD" in statuses[0]["description"]
    assert "no longer counts" in remote.pulls[1]["body"]
    with Session(live.container.engine) as session:
        stale = session.exec(select(AuditEntry).where(AuditEntry.action == "artifact.stale")).all()
    assert [e.payload_dict()["path"] for e in stale] == [prd]
    assert remote.branch_sha("orch/G-0001") == head  # the person's commit is kept


def test_without_a_webhook_ci_is_polled_into_one_thread_message_and_a_green_check_merges(
    tmp_path: Path,
) -> None:
    with github_stack(tmp_path, github_webhook_secret=None, ci_poll_seconds=1) as stack:
        live, hub = stack.live, stack.hub
        hub.state.require_status("acme/billing", "main", "ci")
        live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        live.decide_all("U_APP1", card.ts)
        _note(live, card.ts, 'Required status check "ci" is expected.')
        remote = hub.repo("acme/billing")
        pr = remote.pulls[1]
        assert not hub.app.hooks.targets  # nothing tells the bot: it has to ask

        hub.state.add_check_run(remote, name="ci", head_sha=pr["head_sha"], conclusion="failure")
        ci = _note(live, card.ts, "1 failed — failing:")
        _note(live, card.ts, 'Required status check "ci" is failure.')
        assert not pr["merged"]
        # The failing check is on the card too, where the Implementation gate is decided.
        live.sb.wait_for(
            lambda: "1 failed — failing:" in live.sb.message("C_DEV", card.ts).content,
            timeout=30,
            what="the failing check on the card",
        )
        hub.state.add_check_run(remote, name="ci", head_sha=pr["head_sha"], conclusion="success")
        _note(live, card.ts, "merged into `main`")  # no click needed: the next poll merges
        assert pr["merged"]
        assert [m.ts for m in live.sb.thread("C_DEV", card.ts) if "CI on " in m.text] == [ci.ts]
        assert live.sb.message("C_DEV", ci.ts).text.startswith("✅ CI on ")
