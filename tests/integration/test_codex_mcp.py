"""Codex, driven by the scripted model, calls `orch_get_goal` through `orch mcp` under its defaults.

The real `codex app-server` with this product's MCP server configured (as `ORCH_CODEX_MCP` does for
builds, or as a person does in their own Codex config). Codex 0.169 offers MCP tools through
`tool_search`: the model searches, then calls the tool in the `mcp__orch` namespace. The goal's
mode is the default (read-only: workspace-write sandbox, approval on request), and nobody is asked
to approve: the tool says it only reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.codex.app_server import AppServerTurn
from bot.codex.mcp import orch_mcp_server
from bot.codex.runner import CodexConfig
from sandbox.models import ResponsesServer, message
from tests.integration.test_mcp_server import goal_at_prd
from tests.support.codex import codex_or_skip

pytestmark = pytest.mark.slow

SEARCH = {
    "type": "tool_search_call",
    "call_id": "search_1",
    "execution": "client",
    "status": "completed",
    "arguments": {"query": "read a goal"},
}
GET_GOAL = {
    "type": "function_call",
    "name": "orch_get_goal",
    "namespace": "mcp__orch",
    "arguments": json.dumps({"goal_id": "G-0001"}),
}


def test_codex_finds_and_calls_orch_get_goal_through_the_mcp_server(tmp_path: Path, target_repo: Path) -> None:
    codex_bin = codex_or_skip()
    env = goal_at_prd(tmp_path, target_repo)
    settings = {k: v for k, v in env.items() if k.startswith("ORCH_")}
    server = orch_mcp_server(settings, python=sys.executable)
    with ResponsesServer([[SEARCH], [GET_GOAL], [message("G-0001 waits for its PRD approval.")]]) as model:
        config = CodexConfig(binary=codex_bin.resolve(), model="gpt-5.5", provider_url=model.base_url, timeout=120)
        turn = AppServerTurn(config, target_repo, "read-only", extra_config={"mcp_servers": {"orch": server}})
        result = turn.run("Where does goal G-0001 stand?")
    assert result.ok, result.failure()
    found = [
        item
        for request in model.requests
        for item in request["body"].get("input") or []
        if item.get("type") == "tool_search_output"
    ]
    assert any(t.get("name") == "mcp__orch" for t in found[-1]["tools"]), found[-1]
    outputs = [
        str(item.get("output"))
        for item in model.requests[-1]["body"]["input"]
        if item.get("type") == "function_call_output"
    ]
    assert len(outputs) == 1 and '"id":"G-0001"' in outputs[0] and "Add a CSV export of invoices" in outputs[0]
    assert not any(e.get("type") == "approval.requested" for e in result.events)
