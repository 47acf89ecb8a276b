"""The MCP tools' contract as clients see it: annotations, described and closed schemas, limits
refused rather than clamped, and no database work before the first tool call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mcp import Client

from bot.agent_api.mcp_server import build_mcp_server
from bot.app import Container, build_container
from tests.conftest import make_settings

READ_ONLY = {"orch_list_goals", "orch_get_goal", "orch_read_audit"}


def test_tools_are_annotated_described_and_closed_and_the_container_waits_for_a_call(
    tmp_path: Path, target_repo: Path
) -> None:
    built: list[Container] = []

    def factory() -> Container:
        built.append(build_container(make_settings(tmp_path, target_repo)))
        return built[-1]

    server = build_mcp_server(factory)

    async def talk() -> dict[str, Any]:
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            before = len(built)
            listed = await client.call_tool("orch_list_goals", {"limit": 5})
            too_many = await client.call_tool("orch_list_goals", {"limit": 5000})
            unknown = await client.call_tool("orch_read_audit", {"goal": "G-0001"})
            return {
                "tools": tools,
                "before": before,
                "listed": listed,
                "too_many": too_many,
                "unknown": unknown,
            }

    got = asyncio.run(talk())
    tools = got["tools"]
    assert got["before"] == 0 and len(built) == 1  # built on the first call, once
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None and hints.destructive_hint is False
        assert hints.read_only_hint is (name in READ_ONLY) and hints.idempotent_hint is (name in READ_ONLY)
        schema = tool.input_schema
        assert schema["additionalProperties"] is False
        assert all(p.get("description") for p in schema["properties"].values()), name
    assert tools["orch_list_goals"].input_schema["properties"]["limit"]["maximum"] == 200

    assert got["listed"].is_error is False
    assert got["too_many"].is_error is True and "less than or equal to 200" in got["too_many"].content[0].text
    assert got["unknown"].is_error is True
    assert "does not take goal; its arguments are: goal_id, limit" in got["unknown"].content[0].text
