"""conversations.*, users.* and usergroups.*: reading the workspace."""

from __future__ import annotations

from typing import Any

from sandbox.api_base import (
    Args,
    Ctx,
    invalid,
    method,
    page_limit,
    paginate,
    public,
    target_channel,
)
from sandbox.state import BOT_ID, BOT_USER_ID, TEAM_ID, TEAM_NAME, ApiError, ts_key


@method("auth.test")
def auth_test(ctx: Ctx, args: Args) -> dict[str, Any]:
    return {
        "ok": True,
        "url": f"{ctx.base_url}/",
        "team": TEAM_NAME,
        "user": ctx.state.users[BOT_USER_ID].name,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _window(args: Args, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply oldest/latest/inclusive the way Slack does (exclusive bounds unless inclusive)."""
    oldest, latest, inclusive = args.get("oldest"), args.get("latest"), args.flag("inclusive")
    out = []
    for msg in messages:
        key = ts_key(msg["ts"])
        if oldest is not None and (
            key < ts_key(str(oldest)) or (key == ts_key(str(oldest)) and not inclusive)
        ):
            continue
        if latest is not None and (
            key > ts_key(str(latest)) or (key == ts_key(str(latest)) and not inclusive)
        ):
            continue
        out.append(msg)
    return out


def _page(ctx: Ctx, args: Args, items: list[dict[str, Any]]) -> dict[str, Any]:
    page, next_cursor = paginate(items, args.get("cursor"), page_limit(ctx, args))
    include = args.flag("include_all_metadata")
    return {
        "ok": True,
        "messages": [public(m, include) for m in page],
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


@method("conversations.history")
def history(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = target_channel(ctx, args.get("channel"))
    if BOT_USER_ID not in channel.members:
        raise ApiError("not_in_channel")
    newest_first = list(reversed(_window(args, ctx.state.top_level(channel))))
    return _page(ctx, args, newest_first)


@method("conversations.replies")
def replies(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = target_channel(ctx, args.get("channel"))
    if BOT_USER_ID not in channel.members:
        raise ApiError("not_in_channel")
    parent = ctx.state.thread_parent(channel, str(args.required("ts")))
    # The parent comes first, then replies oldest first; the window only filters the replies.
    items = [parent, *_window(args, ctx.state.replies(channel, parent["ts"]))]
    return _page(ctx, args, items)


@method("conversations.open")
def open_dm(ctx: Ctx, args: Args) -> dict[str, Any]:
    if args.get("channel"):
        channel = ctx.state.channel(str(args.get("channel")))
    else:
        users = args.get("users")
        ids = users if isinstance(users, list) else [u for u in str(users or "").split(",") if u]
        if not ids:
            raise ApiError("users_list_not_supplied")
        if len(ids) > 1:
            raise invalid("the sandbox supports only one-to-one DMs (one user in users)")
        if ids[0] == BOT_USER_ID:
            raise ApiError("cannot_dm_bot")
        channel = ctx.state.dm(ids[0])
    body = channel.to_api() if args.flag("return_im") else {"id": channel.id}
    return {"ok": True, "channel": body}


@method("conversations.info")
def info(ctx: Ctx, args: Args) -> dict[str, Any]:
    return {"ok": True, "channel": target_channel(ctx, args.get("channel")).to_api()}


@method("conversations.members")
def members(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = target_channel(ctx, args.get("channel"))
    return {"ok": True, "members": sorted(channel.members), "response_metadata": {"next_cursor": ""}}


@method("users.info")
def users_info(ctx: Ctx, args: Args) -> dict[str, Any]:
    return {"ok": True, "user": ctx.state.user(str(args.required("user"))).to_api()}


@method("users.list")
def users_list(ctx: Ctx, args: Args) -> dict[str, Any]:
    members = [u.to_api() for u in ctx.state.users.values()]
    return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}


@method("usergroups.list")
def usergroups_list(ctx: Ctx, args: Args) -> dict[str, Any]:
    include = args.flag("include_users")
    return {"ok": True, "usergroups": [g.to_api(include) for g in ctx.state.usergroups.values()]}


@method("usergroups.users.list")
def usergroup_users(ctx: Ctx, args: Args) -> dict[str, Any]:
    group = ctx.state.usergroups.get(str(args.required("usergroup")))
    if group is None:
        raise ApiError("no_such_subteam")
    return {"ok": True, "users": list(group.users)}
