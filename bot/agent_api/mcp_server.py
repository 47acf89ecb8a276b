"""The orchestrator's own MCP server (`orch mcp`, stdio): goals, artifacts, approvals, audit, Codex.

Any MCP client can use it: the orchestrator's agents through `MCPServerStdio`, Codex itself, or
an IDE. It goes through the same services as Slack and the CLI, so every rule holds here too:
a draft submitted here still needs a person's approval in Slack, and nothing here can approve.

Writes record their side effects in the outbox; the running bot (`orch serve`) carries them out
(posts to Slack, commits). This process never runs Slack effects itself, so it cannot swallow them.
Stdout is the protocol channel: nothing else may print there.

Whoever connects acts as one configured principal (`ORCH_MCP_PRINCIPAL`), named in every audit entry
the tools make: each state-changing call and each Codex run is audited. A Codex run works in a
scratch worktree of its own, never the goal's, and is not given full access unless configuration
says so (`ORCH_MCP_ALLOW_FULL_ACCESS`): an MCP client is a program, not a person who confirmed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from bot.agent_api.tool_limits import MAX_CONTENT

if TYPE_CHECKING:
    from types import ModuleType

    from mcp.server.mcpserver import MCPServer

    from bot.deps import Deps as Container


# What each tool does to the world, for clients that decide by it (Codex runs read-only tools
# under its default approval policy without asking). Only Codex runs touch anything outside the
# database, and even it never merges: its change stays in a scratch worktree.
READ = {"read_only_hint": True, "destructive_hint": False, "idempotent_hint": True, "open_world_hint": False}
WRITE = {
    "read_only_hint": False,
    "destructive_hint": False,
    "idempotent_hint": False,
    "open_world_hint": False,
}
CODEX = WRITE | {"open_world_hint": True}
GoalId = Annotated[
    str, Field(description="The goal's id, like G-0001.")
]  # checked by the service, with its message


def _closed(server: MCPServer) -> None:
    """Every tool refuses arguments it does not declare (the SDK checks the input schema)."""
    for tool in server._tool_manager.list_tools():
        tool.parameters["additionalProperties"] = False


def build_mcp_server(c: Container | Callable[[], Container]) -> MCPServer:
    """The server; `c` may be a factory, called on the first tool call, so `initialize` is quick."""
    from mcp.types import ToolAnnotations

    from bot import __version__
    from bot.agent_api.mcp_redaction import RedactingMCPServer

    built: list[Container] = []

    def tools() -> ModuleType:
        from bot.agent_api import mcp_tools  # the database layer, on the first tool call

        return mcp_tools

    def container() -> Container:
        if not built:
            built.append(c() if callable(c) else c)
        return built[0]

    server = RedactingMCPServer(
        "codex-orchestrator",
        version=__version__,
        instructions=(
            "Goals walk a gated procedure; every artifact needs a person's approval in Slack. "
            "Read goals and the audit trail, submit drafts, ask approvers, run Codex on a scratch copy of a "
            "goal's work."
        ),
    )

    @server.tool(annotations=ToolAnnotations(title="List goals", **READ))
    def orch_list_goals(
        active_only: Annotated[bool, Field(description="Only goals still in progress.")] = False,
        limit: Annotated[int, Field(description="How many goals at most (1-200).", ge=1, le=200)] = 50,
    ) -> list[dict[str, Any]]:
        """List goals, newest first: id, title, phase, status, state, mode."""
        return tools()._explained(
            lambda: tools().list_goals(container(), active_only=active_only, limit=limit)
        )

    @server.tool(annotations=ToolAnnotations(title="Read a goal", **READ))
    def orch_get_goal(goal_id: GoalId) -> dict[str, Any]:
        """Read one goal (e.g. G-0001): its brief, tasks and every artifact version."""
        return tools()._explained(lambda: tools().get_goal(container(), goal_id))

    @server.tool(annotations=ToolAnnotations(title="Submit a draft", **WRITE))
    def orch_submit_draft(
        goal_id: GoalId,
        content: Annotated[
            str, Field(description="The artifact as Markdown.", min_length=1, max_length=MAX_CONTENT)
        ],
        summary: Annotated[str, Field(description="One line on what changed.", max_length=2000)] = "",
    ) -> dict[str, Any]:
        """Submit Markdown as the next version of the goal's current artifact (PRD, task list, spec or
        action plan). It is posted for approval; it does not approve anything."""
        return tools()._explained(lambda: tools().submit_draft(container(), goal_id, content, summary))

    @server.tool(annotations=ToolAnnotations(title="Ask the approvers", **WRITE))
    def orch_request_approval(
        goal_id: GoalId,
        note: Annotated[str, Field(description="A note for the approvers.", max_length=2000)] = "",
    ) -> dict[str, Any]:
        """Ask the goal's approvers, in its Slack thread, to decide on the current artifact."""
        return tools()._explained(lambda: tools().request_approval(container(), goal_id, note))

    @server.tool(annotations=ToolAnnotations(title="Read the audit trail", **READ))
    def orch_read_audit(
        goal_id: Annotated[
            str | None, Field(description="Only this goal's entries (like G-0001); all when left out.")
        ] = None,
        limit: Annotated[int, Field(description="How many entries at most (1-500).", ge=1, le=500)] = 50,
    ) -> list[dict[str, Any]]:
        """Read the audit trail (oldest first), for one goal or for all."""
        return tools()._explained(lambda: tools().read_audit(container(), goal_id, limit))

    @server.tool(annotations=ToolAnnotations(title="Run Codex on a scratch copy of a goal's work", **CODEX))
    def orch_run_codex(
        goal_id: GoalId,
        prompt: Annotated[str, Field(description="What Codex should do.", min_length=1, max_length=20_000)],
    ) -> dict[str, Any]:
        """Run OpenAI Codex with `prompt` in a scratch worktree at the tip of the goal's branch, in the
        sandbox its approved mode allows (full access only if configuration allows it over MCP).
        Returns the run id, Codex's summary and the scratch worktree's diff (never merged)."""
        return tools()._explained(lambda: tools().run_codex(container(), goal_id, prompt))

    _closed(server)
    return server
