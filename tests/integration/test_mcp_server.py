"""`orch mcp` over stdio, driven by the python `mcp` client: tools/list and real tool calls."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from sqlmodel import Session, col, select

from bot.app import build_container
from bot.codex.binary import find_codex
from bot.observability.runs import load_run
from bot.repo.git import Git
from bot.services.unit import Actor
from sandbox.models import ResponsesServer, apply_patch, message
from storage.audit import AuditEntry
from storage.db import transaction
from storage.models import Artifact, Goal
from tests.conftest import make_settings

TOOLS = {
    "orch_list_goals",
    "orch_get_goal",
    "orch_submit_draft",
    "orch_request_approval",
    "orch_read_audit",
    "orch_run_codex",
}
PRD = "# PRD\n\n## Problem\n\nFinance needs invoices as CSV.\n"

pytestmark = pytest.mark.slow


def goal_at_prd(tmp_path: Path, repo: Path, **overrides: Any) -> dict[str, str]:
    """A goal waiting at its PRD gate; returns the environment that points `orch` at it."""
    settings = make_settings(tmp_path, repo, runs_dir=tmp_path / "runs", **overrides)
    c = build_container(settings)
    goal = c.goals.start_goal(brief="Add a CSV export of invoices.", actor=Actor("U_REQ"))
    asyncio.run(c.dispatcher.drain())
    c.goals.decide(goal_id=goal.id, phase=None, sha256=None, decision="approve", actor=Actor("U_APP1"))
    asyncio.run(c.dispatcher.drain())
    assert c.goals.get(goal.id).phase == "prd"
    c.engine.dispose()
    env = {
        **os.environ,
        "ORCH_DATABASE_URL": settings.database_url,
        "ORCH_REPO": str(repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2",
        "ORCH_AGENT_BACKEND": "offline",
        "ORCH_RUNS_DIR": str(tmp_path / "runs"),
    }
    env.update({k: str(v) for k, v in overrides.items()})
    return env


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run-local-mcp.sh"


def server(env: dict[str, str], *, via_script: bool = False) -> StdioServerParameters:
    if via_script:
        return StdioServerParameters(command="bash", args=[str(SCRIPT)], env=env)
    return StdioServerParameters(command=sys.executable, args=["-m", "bot", "mcp"], env=env)


def test_orch_mcp_lists_its_tools_and_answers_calls_over_stdio(tmp_path: Path, target_repo: Path) -> None:
    env = goal_at_prd(tmp_path, target_repo, ORCH_MCP_PRINCIPAL="mcp:release-bot")

    async def session() -> dict[str, Any]:
        async with Client(server(env, via_script=True)) as client:
            tools = await client.list_tools()
            listed = await client.call_tool("orch_list_goals", {})
            goal = await client.call_tool("orch_get_goal", {"goal_id": "g-0001"})
            draft = await client.call_tool(
                "orch_submit_draft",
                {"goal_id": "G-0001", "content": PRD, "summary": "A PRD from an MCP client"},
            )
            ask = await client.call_tool(
                "orch_request_approval", {"goal_id": "G-0001", "note": "please look"}
            )
            trail = await client.call_tool("orch_read_audit", {"goal_id": "G-0001"})
            missing = await client.call_tool("orch_get_goal", {"goal_id": "G-0999"})
            return {
                "tools": {t.name for t in tools.tools},
                "listed": listed,
                "goal": goal,
                "draft": draft,
                "ask": ask,
                "trail": trail,
                "missing": missing,
            }

    r = asyncio.run(session())
    assert r["tools"] == TOOLS
    assert [g["id"] for g in r["listed"].structured_content["result"]] == ["G-0001"]
    assert r["goal"].structured_content["phase"] == "prd"
    assert [a["phase"] for a in r["goal"].structured_content["artifacts"]] == ["scaffold_check", "prd"]
    assert r["draft"].structured_content["version"] == 2 and not r["draft"].is_error
    assert r["ask"].structured_content["approvers"] == ["U_APP1", "U_APP2"]
    trail = r["trail"].structured_content["result"]
    # Every state-changing call is audited as the configured principal, not as whoever connected.
    assert [(e["action"], e["actor"]) for e in trail[-3:]] == [
        ("artifact.drafted", "bot"),
        ("mcp.draft_submitted", "mcp:release-bot"),
        ("approval.requested", "mcp:release-bot"),
    ]
    assert r["missing"].is_error and "G-0999" in r["missing"].content[0].text

    # The draft went through the same service as any other: stored, and waiting for a person.
    settings = make_settings(tmp_path, target_repo)
    c = build_container(settings)
    with Session(c.engine) as session_:
        v2 = session_.exec(select(Artifact).where(Artifact.phase == "prd", Artifact.version == 2)).one()
        goal = session_.get(Goal, "G-0001")
    assert v2.content == PRD and v2.drafted_by == "mcp"
    assert goal is not None and goal.status == "awaiting_approval" and goal.phase == "prd"


def test_orch_mcp_runs_codex_in_a_scratch_worktree_audited_and_without_full_access(
    tmp_path: Path, target_repo: Path
) -> None:
    codex = find_codex()
    if codex is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    patch = "*** Begin Patch\n*** Add File: notes/plan.md\n+# Plan from Codex\n*** End Patch"
    with ResponsesServer([[apply_patch(patch)], [message("Wrote notes/plan.md.")]]) as model:
        env = goal_at_prd(
            tmp_path, target_repo, ORCH_CODEX_PROVIDER_URL=model.base_url, ORCH_CODEX_BIN=str(codex)
        )
        c = build_container(make_settings(tmp_path, target_repo))
        with transaction(c.engine) as session:
            goal = session.get(Goal, "G-0001")
            assert goal is not None
            goal.mode = "full-access"  # approved for the goal's own builder, not for MCP clients
            session.add(goal)
        goal_tree = Git(target_repo).worktree_add("G-0001")

        async def call() -> Any:
            async with Client(server(env)) as client:
                return await client.call_tool(
                    "orch_run_codex", {"goal_id": "G-0001", "prompt": "Write the plan"}
                )

        result = asyncio.run(call()).structured_content
    assert (
        result["ok"] and result["summary"] == "Wrote notes/plan.md." and result["files"] == ["notes/plan.md"]
    )
    assert "+# Plan from Codex" in result["diff"]
    assert result["mode"] == "workspace-write" and "full-access" in result["note"]
    # Neither the main checkout nor the goal's worktree got the file: the next diff will not show it.
    assert not (target_repo / "notes").exists() and not (goal_tree / "notes").exists()
    assert Git(target_repo).run("status", "--porcelain", cwd=goal_tree) == ""
    assert not any((target_repo / ".orch" / "scratch").iterdir())  # the scratch worktree is gone
    record = load_run(tmp_path / "runs", result["run_id"])
    assert record["meta"]["role"] == "codex" and "+# Plan from Codex" in record["diff"]
    assert record["meta"]["sandbox"] == "workspace-write"
    with Session(c.engine) as session_:
        runs = session_.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action).startswith("codex."))
            .order_by(col(AuditEntry.seq))
        ).all()
    assert [(e.action, e.actor) for e in runs] == [
        ("codex.run_started", "mcp:operator"),
        ("codex.run_finished", "mcp:operator"),
    ]
    started, finished = (e.payload_dict() for e in runs)
    assert (started["goal_mode"], started["run_mode"], started["prompt"]) == (
        "full-access",
        "workspace-write",
        "Write the plan",
    )
    assert runs[1].run_id == result["run_id"] and finished["files"] == ["notes/plan.md"]


def test_an_agent_reaches_the_orchestrator_through_mcp_server_stdio(
    tmp_path: Path, target_repo: Path
) -> None:
    from agents import Agent, Model, ModelProvider, RunConfig, Runner
    from agents.mcp import MCPServerStdio
    from agents.testing import ScriptedModel, assistant_message, function_call

    env = goal_at_prd(tmp_path, target_repo)
    model = ScriptedModel(
        [
            [function_call("orch_get_goal", {"goal_id": "G-0001"}, call_id="c1")],
            [assistant_message("G-0001 waits at its PRD.")],
        ]
    )

    class One(ModelProvider):
        def get_model(self, model_name: str | None) -> Model:
            return model

    async def run() -> str:
        params = {"command": sys.executable, "args": ["-m", "bot", "mcp"], "env": env}
        async with MCPServerStdio(
            params=params, cache_tools_list=True, client_session_timeout_seconds=60
        ) as orch:
            agent = Agent(name="drafter", model="scripted", mcp_servers=[orch])
            result = await Runner.run(
                agent, "Where is G-0001?", run_config=RunConfig(model_provider=One(), tracing_disabled=True)
            )
            return str(result.final_output)

    assert asyncio.run(run()) == "G-0001 waits at its PRD."
    offered = {t.name for t in model.calls[0].tools}
    assert offered >= TOOLS
    tool_output = next(
        i for i in model.calls[1].input if isinstance(i, dict) and i.get("type") == "function_call_output"
    )
    assert '"phase":"prd"' in str(tool_output["output"]).replace(" ", "")
