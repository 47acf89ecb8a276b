"""The MCP server's door: tool arguments are redacted on the way in, results and errors on the way out.

A tool's result can hold what no person typed: `orch_run_codex` returns the worktree's diff, and a
command Codex ran may have written a key into the worktree. The run's own record (`diff.patch`)
is redacted; what goes back to the client must be too, whichever tool produced it. Doing it here,
around every tool call, means a tool added later is covered without remembering to.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult

from bot.intake import clean
from bot.redact import redact


def refuse_unknown_arguments(name: str, schema: dict[str, Any] | None, arguments: dict[str, Any]) -> None:
    """A closed schema (`additionalProperties: false`) is enforced: a misspelt argument is an error,
    not silently dropped."""
    if not schema or schema.get("additionalProperties") is not False:
        return
    known = list(schema.get("properties") or {})
    unknown = sorted(set(arguments or {}) - set(known))
    if unknown:
        raise ToolError(
            f"{name} does not take {', '.join(unknown)}; its arguments are: {', '.join(known) or 'none'}"
        )


class RedactingMCPServer(MCPServer):
    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        refuse_unknown_arguments(name, self._tool_input_schema(name), arguments)
        try:
            result = await super().call_tool(name, clean(arguments), context)
        except ToolError as exc:
            cleaned = redact(str(exc))
            if cleaned == str(exc):
                raise
            raise type(exc)(cleaned) from exc.__cause__
        if isinstance(result, CallToolResult):
            data = result.model_dump(by_alias=True, exclude_unset=True)
            return CallToolResult.model_validate(clean(data))
        return result
