"""The manager path with the real Agents SDK, offline: builder → tester → reviewer → a person.

The models are `agents.testing.ScriptedModel`s; everything else is real: the SQLite database, the
goal services and outbox, git worktrees, the offline builder, the target's pytest run. The run
pauses for approval, the process "restarts" (every object is rebuilt from the database), a person
approves, and the run resumes and completes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agents import Model, ModelProvider
from agents.testing import ScriptedModel, assistant_message, function_call
from sqlmodel import Session, select

from bot.agents.manager import ImplementationManager
from bot.app import Container, build_container
from bot.observability.runs import load_run
from bot.services.unit import Actor
from storage.models import Artifact
from storage.runs_models import AgentRun
from tests.conftest import make_settings

NAMES = {"manager": "manager", "builder": "builder", "tester": "tester", "reviewer": "reviewer"}
BRIEF = "Add a health endpoint. It returns the service version."

pytestmark = pytest.mark.slow  # two bot lifetimes and real pytest runs in the worktree


class Scripted(ModelProvider):
    def __init__(self, models: dict[str, ScriptedModel]) -> None:
        self.models = models

    def get_model(self, model_name: str | None) -> Model:
        return self.models[str(model_name)]


def task_steps(task: int) -> dict[str, list[Any]]:
    """One task's script up to the approval request."""
    return {
        "manager": [
            [function_call("builder", {"input": f"Build task {task}"}, call_id=f"m{task}-1")],
            [function_call("tester", {"input": "Run the tests"}, call_id=f"m{task}-2")],
            [function_call("reviewer", {"input": "Check the criteria"}, call_id=f"m{task}-3")],
            [
                function_call(
                    "request_diff_approval",
                    {"summary": f"Task {task}: scaffold, tests green"},
                    call_id=f"m{task}-4",
                )
            ],
        ],
        "builder": [
            [function_call("run_builder", {"instructions": "follow the task"}, call_id=f"b{task}")],
            [assistant_message("Scaffolded the module and its test.")],
        ],
        "tester": [[function_call("run_tests", {}, call_id=f"t{task}")], [assistant_message("Tests pass.")]],
        "reviewer": [
            [function_call("read_diff", {}, call_id=f"r{task}")],
            [assistant_message("APPROVE: both criteria are covered.")],
        ],
    }


def scripted(steps: dict[str, list[Any]]) -> dict[str, ScriptedModel]:
    return {role: ScriptedModel(steps.get(role, [])) for role in NAMES}


def graph(settings: Any, models: dict[str, ScriptedModel]) -> tuple[Container, ImplementationManager]:
    """Everything built fresh from settings, as a process start does."""
    c = build_container(settings)
    manager = ImplementationManager.from_container(c, model_provider=Scripted(models), models=NAMES)
    manager.install(c)
    return c, manager


def drain(c: Container) -> None:
    asyncio.run(c.dispatcher.drain(timeout=60))


def walk_to_first_diff(c: Container, goal_id: str) -> None:
    for _ in range(10):
        drain(c)
        goal = c.goals.get(goal_id)
        if goal.phase == "implementation" and goal.status == "awaiting_approval":
            return
        c.goals.decide(goal_id=goal_id, phase=None, sha256=None, decision="approve", actor=Actor("U_APP1"))
    raise AssertionError("the goal never reached a diff awaiting approval")


def runs(c: Container) -> list[AgentRun]:
    with Session(c.engine) as session:
        return list(session.exec(select(AgentRun).order_by(AgentRun.task_id)).all())


def test_a_paused_approval_survives_a_restart_and_the_run_completes(
    tmp_path: Path, target_repo: Path
) -> None:
    settings = make_settings(
        tmp_path,
        target_repo,
        runs_dir=tmp_path / "runs",
        test_command=f"{sys.executable} -m pytest -q -p no:cacheprovider",
        test_timeout=60,
    )

    # First process: the manager builds, tests, reviews, and pauses for a person.
    first = scripted(task_steps(1))
    c1, _ = graph(settings, first)
    goal = c1.goals.start_goal(brief=BRIEF, actor=Actor("U_REQ"))
    walk_to_first_diff(c1, goal.id)
    for model in first.values():
        model.assert_complete()
    [paused] = runs(c1)
    assert paused.status == "paused" and paused.task_id == 1
    assert paused.state_json and paused.pending_tool == "request_diff_approval"
    with Session(c1.engine) as session:
        diff = session.exec(select(Artifact).where(Artifact.phase == "implementation")).one()
    assert diff.sha256 == paused.artifact_sha256 and diff.drafted_by == "manager:manager"
    assert "+++ b/src/" in diff.content
    c1.engine.dispose()
    del c1, first

    # Second process: nothing survives but the database, the repo and the run records.
    second = task_steps(2)
    second["manager"].insert(0, [assistant_message("Task 1 approved and merged.")])
    models = scripted(second)
    c2, manager = graph(settings, models)
    assert manager.workbench.decision(paused.id) is None  # nobody has decided yet
    c2.goals.decide(goal_id=goal.id, phase=None, sha256=None, decision="approve", actor=Actor("U_APP1"))
    drain(c2)  # merge task 1 → resume its run; then task 2's run starts and pauses in turn

    for model in models.values():
        model.assert_complete()
    done, next_task = runs(c2)
    assert done.status == "completed" and done.final_output == "Task 1 approved and merged."
    assert done.state_json is None
    assert next_task.task_id == 2 and next_task.status == "paused"
    # The resumed manager saw the person's decision as the approved tool's output.
    first_call_input = models["manager"].calls[0].input
    outputs = [
        i.get("output")
        for i in first_call_input
        if isinstance(i, dict) and i.get("type") == "function_call_output"
    ]
    assert any("Approved by U_APP1" in str(o) for o in outputs)

    log = subprocess.run(
        ["git", "-C", str(target_repo), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert "merge task 1" in log
    record = load_run(tmp_path / "runs", done.id)
    assert record["meta"]["status"] == "completed" and record["meta"]["role"] == "manager"
    tool_calls = [e["item"].get("name") for e in record["events"] if e["type"] == "agent.tool_call_item"]
    assert tool_calls[:4] == ["builder", "tester", "reviewer", "request_diff_approval"]
    assert "xfailed" in record["tests"] and "+++ b/src/" in record["diff"]


def test_a_change_request_resumes_the_run_rejected_with_the_reason(tmp_path: Path, target_repo: Path) -> None:
    settings = make_settings(tmp_path, target_repo, runs_dir=tmp_path / "runs")
    c, _ = graph(settings, scripted(task_steps(1)))
    goal = c.goals.start_goal(brief=BRIEF, actor=Actor("U_REQ"))
    walk_to_first_diff(c, goal.id)
    [paused] = runs(c)

    redo = task_steps(11)  # fresh call ids: a model never repeats one
    redo["manager"] = [redo["manager"][0], redo["manager"][3]]  # build again, then ask again
    redo["tester"] = redo["reviewer"] = []
    models = scripted(redo)
    manager = ImplementationManager.from_container(c, model_provider=Scripted(models), models=NAMES)
    c.goals.decide(
        goal_id=goal.id,
        phase=None,
        sha256=None,
        decision="request_changes",
        actor=Actor("U_APP1"),
        reason="Name the module after the endpoint",
    )
    assert asyncio.run(manager.resume(paused.id)) == "paused"

    rejected = [
        i
        for i in models["manager"].calls[0].input
        if isinstance(i, dict) and i.get("type") == "function_call_output"
    ]
    assert "Name the module after the endpoint" in str(rejected[-1].get("output"))
    [again] = runs(c)
    assert again.id == paused.id and again.status == "paused"
    with Session(c.engine) as session:
        versions = session.exec(select(Artifact.version).where(Artifact.phase == "implementation")).all()
    assert sorted(versions) == [1, 2]
    assert c.goals.get(goal.id).status == "awaiting_approval"
    assert manager.workbench.decision(paused.id) is None  # the old "request changes" was about v1
    for model in models.values():
        model.assert_complete()
