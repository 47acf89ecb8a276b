"""The MCP server redacts what comes in (tool arguments) and what goes out (results and errors),
driven in memory through the python `mcp` client against the real server, Codex included."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from bot.agent_api.mcp_server import build_mcp_server
from bot.app import build_container
from bot.codex.binary import find_codex
from bot.services.unit import Actor
from sandbox.models import ResponsesServer, apply_patch, exec_command, message
from storage.db import transaction
from storage.models import Goal
from tests.conftest import make_settings
from tests.support.leaks import database_places, file_places, leaks

pytestmark = pytest.mark.slow

AWS_ID = "AKIAQ7ZRTX4NWB2PLM6K"
AWS_SECRET = "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"
GITHUB = "ghp_Wz8Xc4Vb6Nm2Qa9Sd3Fg7Hj1Kl5Pq0Rt4Yu8I"
SLACK = "xoxb-604938271650-7381920465738-Lq2Wz7Xc9Vb4Nm6Qa1Sd8Fg3"
PROVIDER_KEY = "sk-proj-Mcp0Pr0v1derK3yZx8Cv2Bn6Mq4Wn1Eb5Rc9Tv3Ym7Lp2Ko4Ji6"
SECRETS = [AWS_ID, AWS_SECRET, GITHUB, SLACK, PROVIDER_KEY, "hunter2", "abc&def9"]


def container_at_prd(tmp_path: Path, repo: Path, **overrides: Any) -> Any:
    c = build_container(make_settings(tmp_path, repo, runs_dir=tmp_path / "runs", **overrides))
    goal = c.goals.start_goal(brief="Add a CSV export of invoices.", actor=Actor("U_REQ"))
    asyncio.run(c.dispatcher.drain())
    c.goals.decide(goal_id=goal.id, phase=None, sha256=None, decision="approve", actor=Actor("U_APP1"))
    asyncio.run(c.dispatcher.drain())
    return c


def everything(result: Any) -> str:
    return json.dumps(result.model_dump(mode="json"))


def test_tool_arguments_and_errors_are_redacted_both_ways(tmp_path: Path, target_repo: Path) -> None:
    c = container_at_prd(tmp_path, target_repo)
    note = f"password: hunter2 and password=abc&def9; the pair is {AWS_ID} {AWS_SECRET}"

    async def session() -> dict[str, Any]:
        async with Client(build_mcp_server(c)) as client:
            return {
                "ask": await client.call_tool("orch_request_approval", {"goal_id": "G-0001", "note": note}),
                "bad": await client.call_tool("orch_get_goal", {"goal_id": GITHUB}),
                "trail": await client.call_tool("orch_read_audit", {"goal_id": "G-0001"}),
            }

    r = asyncio.run(session())
    asyncio.run(c.dispatcher.drain())
    assert not r["ask"].is_error and r["bad"].is_error and "is not a goal id" in r["bad"].content[0].text
    c.engine.dispose()
    places = [(name, everything(result)) for name, result in r.items()]
    places += database_places(tmp_path / "orch.db")
    # The goal id is upper-cased before it is echoed: the token must not come back in either case.
    assert leaks([*SECRETS, GITHUB.upper()], places) == []


def test_orch_run_codex_returns_a_redacted_diff_and_keeps_the_provider_key_from_commands(
    tmp_path: Path, target_repo: Path
) -> None:
    codex = find_codex()
    if codex is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    patch = (
        "*** Begin Patch\n*** Add File: deploy.env\n"
        f"+AWS_ACCESS_KEY_ID={AWS_ID}\n+AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n+GITHUB_TOKEN={GITHUB}\n"
        "*** End Patch"
    )
    script = [
        [apply_patch(patch)],
        [exec_command("env > seen-env.txt; echo $ORCH_CODEX_API_KEY > key.txt")],
        [message(f"Wrote deploy.env with {GITHUB}.")],
    ]
    with ResponsesServer(script) as model:
        c = container_at_prd(
            tmp_path,
            target_repo,
            codex_provider_url=model.base_url,
            codex_bin=str(codex),
            openai_api_key=PROVIDER_KEY,
        )
        with transaction(c.engine) as session:
            goal = session.get(Goal, "G-0001")
            assert goal is not None
            goal.mode = "workspace-write"
            session.add(goal)

        async def call() -> Any:
            async with Client(build_mcp_server(c)) as client:
                return await client.call_tool(
                    "orch_run_codex", {"goal_id": "G-0001", "prompt": f"Use {SLACK} to post the result"}
                )

        result = asyncio.run(call())
    out = result.structured_content
    assert out["ok"] and "deploy.env" in out["files"], out
    assert (
        "+AWS_SECRET_ACCESS_KEY=[REDACTED:" in out["diff"] and "+GITHUB_TOKEN=ghp_[REDACTED:" in out["diff"]
    )
    # Codex authenticated with the key; its commands could neither print nor write it.
    assert model.requests[0]["headers"].get("authorization") == f"Bearer {PROVIDER_KEY}"
    # The run worked in a scratch worktree that is gone now; what its commands wrote is in the diff.
    assert "seen-env.txt" in out["diff"] and "key.txt" in out["diff"], "the command did not run"
    worktrees = [p for p in (target_repo.parent).rglob("seen-env.txt")]
    places = [
        ("MCP result", everything(result)),
        ("prompt to the model", json.dumps([r["body"] for r in model.requests])),
    ]
    places += file_places(tmp_path / "runs", ".runs")
    places += [(f"worktree {p.name}", p.read_text()) for w in worktrees for p in w.parent.glob("*.txt")]
    assert leaks([PROVIDER_KEY, SLACK], places) == []
    assert leaks(SECRETS, places[:1] + file_places(tmp_path / "runs", ".runs")) == []
