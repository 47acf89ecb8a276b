"""The implementation manager in the live app: `implementer = "manager"`, driven only through Slack.

The real bot over HTTP against the sandbox, with the manager installed by the composition root and
its builds run as jobs; only the models are scripted (`agents.testing.ScriptedModel`). A person
requests changes on the first diff (the paused run resumes rejected, it does not start again), then
approves the second one (the change is merged and the run completes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agents.testing import assistant_message
from sqlmodel import Session, col, select

from bot.app import Container
from sandbox import Sandbox
from storage.audit import AuditEntry
from storage.jobs_models import Job
from storage.models import Artifact
from storage.runs_models import AgentRun
from tests.conftest import Live, make_settings, start_live
from tests.integration.test_manager_restart import NAMES, Scripted, scripted, task_steps

pytestmark = pytest.mark.slow  # the real bot in a thread, a whole goal over HTTP
BRIEF = "Add a health endpoint. It returns the service version."
FEEDBACK = "Name the module after the endpoint"


def test_the_setting_picks_the_manager_only_with_a_model(tmp_path: Path, target_repo: Path) -> None:
    assert make_settings(tmp_path, target_repo).implementer == "direct"
    assert make_settings(tmp_path, target_repo, agent_backend="openai").implementer == "manager"
    chosen = make_settings(tmp_path, target_repo, agent_backend="openai", implementer="direct")
    assert chosen.implementer == "direct"


def next_artifact(sb: Sandbox, card_ts: str, seen: set[str]) -> Any:
    return sb.wait_for(
        lambda: next(
            (m for m in sb.thread("C_DEV", card_ts) if "Approve" in m.buttons and m.ts not in seen), None
        ),
        timeout=10,
        what="the next artifact to decide",
    )


def approve(live: Live, message: Any) -> None:
    live.sb.click("U_APP1", message, "Approve")
    live.sb.wait_for(
        lambda: "Approve" not in live.sb.message("C_DEV", message.ts).buttons,
        timeout=10,
        what="the decision to replace the buttons",
    )


def rows(c: Container, model: Any, *where: Any) -> list[Any]:
    with Session(c.engine) as session:
        return list(session.exec(select(model).where(*where)).all())


def test_a_change_request_resumes_the_paused_run_and_an_approval_merges_it(
    tmp_path: Path, target_repo: Path
) -> None:
    # The manager needs a model endpoint to be built; the scripted provider replaces it before any goal.
    live = start_live(
        tmp_path,
        target_repo,
        implementer="manager",
        openai_base_url="http://127.0.0.1:9/v1",
        runs_dir=tmp_path / "runs",
    )
    try:
        c = live.container
        manager = c.manager
        steps = task_steps(1)
        redo = task_steps(11)  # fresh call ids: build again, then ask again
        steps["manager"] += [
            redo["manager"][0],
            redo["manager"][3],
            [assistant_message("Task 1 approved and merged.")],
        ]
        steps["builder"] += redo["builder"]
        later = task_steps(2)  # the approval moves on to task 2, whose run pauses in turn
        for role in NAMES:
            steps[role] += later[role]
        models = scripted(steps)
        manager.model_provider, manager.models = Scripted(models), dict(NAMES)

        live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        seen: set[str] = set()
        while True:  # approve the documents until the first diff is posted
            message = next_artifact(live.sb, card.ts, seen)
            seen.add(message.ts)
            if "diff v1 for" in message.content.lower():
                break
            approve(live, message)

        live.sb.click("U_APP1", message, "Request changes")
        live.sb.wait_for_view("U_APP1", "orch_feedback_modal")
        live.sb.submit_view("U_APP1", {"feedback": FEEDBACK})
        v2 = next_artifact(live.sb, card.ts, seen)
        seen.add(v2.ts)
        assert "diff v2 for g-0001 · task 1" in v2.content.lower()
        approve(live, v2)
        task2 = next_artifact(live.sb, card.ts, seen)  # the approval merged task 1 and moved on
        assert "diff v1 for g-0001 · task 2" in task2.content.lower()

        runs = rows(c, AgentRun, col(AgentRun.goal_id) == "G-0001")
        assert sorted((r.task_id, r.status) for r in runs) == [(1, "completed"), (2, "paused")]
        first = next(r for r in runs if r.task_id == 1)
        assert first.final_output == "Task 1 approved and merged."
        assert json.loads(first.context_json)["feedback"].endswith(FEEDBACK)
        # One run drafted each diff version of task 1, once: the redo resumed it, nothing restarted it.
        drafted = rows(c, AuditEntry, col(AuditEntry.action) == "artifact.drafted")
        task1 = sorted(
            (e.payload_dict()["version"], e.run_id) for e in drafted if e.payload_dict().get("task_id") == 1
        )
        assert task1 == [(1, first.id), (2, first.id)]
        versions = rows(c, Artifact, col(Artifact.phase) == "implementation", col(Artifact.task_id) == 1)
        assert sorted(a.version for a in versions) == [1, 2]
        # The builds went through the jobs table: the manager is the one "build" handler there.
        builds = rows(c, Job, col(Job.kind) == "build")
        assert sorted(j.key for j in builds) == [
            "build:G-0001:1:1",
            "build:G-0001:2:1",
            "build:G-0001:implementation:1:2",
        ]
        assert all(j.status == "succeeded" and j.attempts == 1 for j in builds)
        # The resumed manager saw the person's reason as the rejected tool's output.
        rejected = [
            str(i.get("output"))
            for call in models["manager"].calls
            for i in call.input
            if isinstance(i, dict) and i.get("type") == "function_call_output"
        ]
        assert any(FEEDBACK in o for o in rejected)
        assert any("merge task 1" in line for line in live.git_log())
        for model in models.values():
            model.assert_complete()
    finally:
        live.bot.stop()
        live.sb.stop()
