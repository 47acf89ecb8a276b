"""The builder tool: make the task's change in the goal's worktree with the configured builder
(the offline scaffold, or Codex in the sandbox the goal's mode allows)."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents import FunctionTool


def builder_tool(deps: Any) -> "FunctionTool":
    """`run_builder`: `await deps.build(context, instructions)` does the work."""
    from agents import RunContextWrapper, function_tool

    @function_tool
    async def run_builder(ctx: RunContextWrapper[dict[str, Any]], instructions: str) -> str:
        """Make the change for this task in its worktree. `instructions` add guidance to the task's
        own description and acceptance criteria. Returns what changed."""
        return str(await deps.build(ctx.context, instructions))

    return run_builder
