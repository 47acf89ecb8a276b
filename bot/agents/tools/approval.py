"""The approval tool: a person approves the diff. It needs approval, so the run pauses here.

When the manager calls it, the SDK stops with an interruption instead of running it; the paused
run state is stored and the diff is posted for approval. Only after a person approved the diff in
Slack (bound to its sha256) is the run resumed with the call approved, and then this body runs and
reports the decision back to the manager. A rejection or a change request resumes it rejected, and
the SDK hands the person's reason to the manager instead.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents import FunctionTool

TOOL_NAME = "request_diff_approval"


def approval_tool(deps: Any) -> "FunctionTool":
    """`request_diff_approval`: `await deps.approval_outcome(context)` says who approved."""
    from agents import RunContextWrapper, function_tool

    @function_tool(name_override=TOOL_NAME, needs_approval=True)
    async def request_diff_approval(ctx: RunContextWrapper[dict[str, Any]], summary: str) -> str:
        """Ask a person to approve this task's diff. `summary` tells them what changed and what the
        tester and reviewer found. Call it once the reviewer is satisfied."""
        return str(await deps.approval_outcome(ctx.context))

    return request_diff_approval
