"""The control API's actions: a web page or another process acting as a person, in JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.delivery import Delivery
from sandbox.snapshots import Message, View

if TYPE_CHECKING:
    from sandbox.workspace import Sandbox


def run(sb: Sandbox, action: str, params: dict[str, Any]) -> Any:
    """`{"user": ..., ...}` in, a JSON-ready summary out; unknown actions raise KeyError."""
    user = params["user"]
    if action == "post":
        msg = sb.post(user, params["channel"], params["text"], params.get("thread_ts"))
        return {"ts": msg.ts, "channel": msg.channel, "delivery": _summary(msg.delivery)}
    if action == "slash":
        return _summary(
            sb.slash(user, params["channel"], params.get("text", ""), params.get("command", "/orch"))
        )
    if action == "click":
        found: Message | View | None
        if params.get("view_id"):
            found = next(
                (v for v in [*sb.views(user), sb.home(user)] if v and v.id == params["view_id"]), None
            )
        elif params.get("ephemeral"):
            found = next((m for m in sb.ephemerals(user, params["channel"]) if m.ts == params["ts"]), None)
        else:
            found = sb.message(params["channel"], params["ts"])
        if found is None:
            raise KeyError("no such view or ephemeral message")
        return _summary(sb.click(user, found, params.get("label"), action_id=params.get("action_id")))
    if action == "submit_view":
        return _summary(sb.submit_view(user, params.get("values")))
    if action == "close_view":
        return _summary(sb.close_view(user))
    if action == "open_home":
        return _summary(sb.open_home(user))
    raise KeyError(f"unknown action {action!r}")


def _summary(delivery: Delivery | None) -> dict[str, Any] | None:
    if delivery is None:
        return None
    return {
        "kind": delivery.kind,
        "status": delivery.status,
        "outcome": delivery.outcome,
        "elapsed": round(delivery.elapsed, 4),
        "body": delivery.body[:2000],
    }
