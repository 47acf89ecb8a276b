"""The reviewer tool: the task's acceptance criteria and the diff, for the reviewer agent to judge."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents import FunctionTool

MAX_DIFF = 30_000


def review_material(criteria: list[str], diff: str) -> str:
    """The text the reviewer reads: numbered criteria, then the diff (clipped)."""
    lines = ["Acceptance criteria:"] + [f"{i}. {c}" for i, c in enumerate(criteria, 1)]
    if not criteria:
        lines.append("(none written: judge the diff against the task title)")
    shown = diff if len(diff) <= MAX_DIFF else diff[:MAX_DIFF] + "\n… (diff clipped)"
    lines += ["", "Diff:", shown or "(no changes)"]
    return "\n".join(lines)


def reviewer_tool(deps: Any) -> "FunctionTool":
    """`read_diff`: `await deps.review_material(context)` returns the criteria and the diff."""
    from agents import RunContextWrapper, function_tool

    @function_tool
    async def read_diff(ctx: RunContextWrapper[dict[str, Any]]) -> str:
        """Return this task's acceptance criteria and the current diff of its worktree."""
        return str(await deps.review_material(ctx.context))

    return read_diff
