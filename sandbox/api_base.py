"""What every Web API method shares: reading arguments, the method registry, common checks."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.blocks import block_errors, json_arg, view_errors, with_ids
from sandbox.state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, ApiError, Channel, State


@dataclass
class Ctx:
    state: State
    base_url: str
    page_size: int


Method = Callable[[Ctx, "Args"], dict[str, Any]]
METHODS: dict[str, Method] = {}


def method(name: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        METHODS[name] = fn
        return fn

    return register


def invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


class Args:
    """Arguments merged from the query string and the body; form values are always strings."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def get(self, name: str, default: Any = None) -> Any:
        value = self.data.get(name)
        return default if value in (None, "") else value

    def required(self, name: str) -> Any:
        value = self.get(name)
        if value is None:
            raise invalid(f"missing required field: {name}")
        return value

    def ts(self, name: str) -> str | None:
        """A timestamp argument as text; JSON bodies sometimes carry it as a number."""
        value = self.get(name)
        return None if value is None else str(value)

    def flag(self, name: str) -> bool:
        return self.get(name) in (True, 1, "1", "true", "True")

    def int(self, name: str, default: int) -> int:
        try:
            return int(self.get(name, default))
        except (TypeError, ValueError):
            raise invalid(f"{name} must be an integer") from None

    def json(self, name: str, error: str = "invalid_arguments") -> Any:
        raw = self.get(name)
        try:
            return None if raw is None else json_arg(raw)
        except ValueError:
            raise ApiError(
                error, response_metadata={"messages": [f"[ERROR] {name} is not valid JSON"]}
            ) from None


def check_blocks(ctx: Ctx, args: Args) -> list[dict[str, Any]] | None:
    blocks = args.json("blocks", error="invalid_blocks_format")
    if blocks is None:
        return None
    errors = block_errors(blocks)
    if errors:
        raise ApiError(
            "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )
    return with_ids(blocks, lambda: ctx.state.new_id("sb"))


def check_view(args: Args, expected_type: str | None) -> dict[str, Any]:
    view = args.json("view")
    if view is None:
        raise invalid("missing required field: view")
    errors = view_errors(view, expected_type=expected_type)
    if errors:
        # Slack answers views.* with invalid_arguments (not invalid_blocks) for bad view JSON.
        raise ApiError(
            "invalid_arguments",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
        )
    return view


def writable(channel: Channel) -> Channel:
    """The checks Slack makes before the bot may write to or read a channel."""
    if channel.archived:
        raise ApiError("is_archived")
    if BOT_USER_ID not in channel.members:
        raise ApiError("not_in_channel")
    return channel


def target_channel(ctx: Ctx, channel_id: Any) -> Channel:
    """Resolve `channel`; a user id means the DM with that user, as chat.postMessage allows."""
    if not channel_id:
        raise ApiError("channel_not_found")
    channel_id = str(channel_id)
    if channel_id.startswith(("U", "W")) and channel_id in ctx.state.users:
        return ctx.state.dm(channel_id)
    return ctx.state.channel(channel_id)


def bot_message(ctx: Ctx, text: str | None, blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
    bot_name = ctx.state.users[BOT_USER_ID].name
    msg: dict[str, Any] = {
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": text or "",
        "bot_profile": {
            "id": BOT_ID,
            "app_id": APP_ID,
            "name": bot_name,
            "team_id": TEAM_ID,
            "deleted": False,
        },
    }
    if blocks is not None:
        msg["blocks"] = blocks
    return msg


def public(msg: dict[str, Any], include_metadata: bool = False) -> dict[str, Any]:
    """A message as the API returns it: metadata only when asked for, like Slack."""
    if include_metadata or "metadata" not in msg:
        return dict(msg)
    return {k: v for k, v in msg.items() if k != "metadata"}


def paginate(items: list[dict[str, Any]], cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str]:
    """Cursor pagination keyed by the next item's ts, so inserts between pages shift nothing."""
    start = 0
    if cursor:
        try:
            decoded = base64.b64decode(cursor.encode(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError("invalid_cursor") from None
        if not decoded.startswith("next_ts:"):
            raise ApiError("invalid_cursor")
        wanted = decoded.removeprefix("next_ts:")
        start = next((i for i, m in enumerate(items) if m["ts"] == wanted), -1)
        if start < 0:
            raise ApiError("invalid_cursor")
    page = items[start : start + limit]
    rest = items[start + limit :]
    next_cursor = base64.b64encode(f"next_ts:{rest[0]['ts']}".encode()).decode() if rest else ""
    return page, next_cursor


def page_limit(ctx: Ctx, args: Args) -> int:
    limit = args.int("limit", ctx.page_size)
    return ctx.page_size if limit <= 0 else min(limit, 1000)
