"""The control API's actions: a web page or another process acting as a person, in JSON."""

from __future__ import annotations

from typing import Any, Protocol

from sandbox.delivery import Delivery
from sandbox.snapshots import Message, View


class Workspace(Protocol):
    """What the actions need of the sandbox (`sandbox.workspace.Sandbox`), which calls `run`."""

    def post(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> Message: ...

    def slash(self, user: str, channel: str, text: str = "", command: str = "/orch") -> Delivery: ...

    def views(self, user: str) -> list[View]: ...

    def home(self, user: str) -> View | None: ...

    def ephemerals(self, user: str, channel: str | None = None) -> list[Message]: ...

    def message(self, channel: str, ts: str) -> Message: ...

    def click(
        self, user: str, target: Message | View, label: str | None = None, *, action_id: str | None = None
    ) -> Delivery: ...

    def submit_view(self, user: str, values: dict[str, Any] | None = None) -> Delivery: ...

    def close_view(self, user: str) -> Delivery | None: ...

    def open_home(self, user: str) -> Delivery: ...


def run(sb: Workspace, action: str, params: dict[str, Any]) -> Any:
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
