"""chat.* methods: the bot posting, editing and deleting messages."""

from __future__ import annotations

from typing import Any

from sandbox.api_base import (
    Args,
    Ctx,
    bot_message,
    check_blocks,
    method,
    public,
    target_channel,
    writable,
)
from sandbox.state import BOT_USER_ID, ApiError


def _content(ctx: Ctx, args: Args) -> tuple[str | None, list[dict[str, Any]] | None]:
    text = args.get("text")
    blocks = check_blocks(ctx, args)
    if text is None and not blocks and not args.get("attachments"):
        raise ApiError("no_text")
    return text, blocks


@method("chat.postMessage")
def post_message(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = writable(target_channel(ctx, args.get("channel")))
    text, blocks = _content(ctx, args)
    msg = bot_message(ctx, text, blocks)
    if (attachments := args.json("attachments")) is not None:
        msg["attachments"] = attachments
    if (metadata := args.json("metadata")) is not None:
        msg["metadata"] = metadata
    thread_ts = args.ts("thread_ts")
    stored = ctx.state.post(channel, msg, thread_ts=thread_ts, broadcast=args.flag("reply_broadcast"))
    return {"ok": True, "channel": channel.id, "ts": stored["ts"], "message": public(stored)}


@method("chat.update")
def update(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = target_channel(ctx, args.get("channel"))
    if channel.archived:
        raise ApiError("is_archived")
    msg = channel.find(str(args.required("ts")))
    if msg is None:
        raise ApiError("message_not_found")
    if msg.get("user") != BOT_USER_ID:
        raise ApiError("cant_update_message")
    # Like Slack, fields left out keep their old value; `blocks=[]` removes the blocks.
    if args.get("text") is not None:
        msg["text"] = args.get("text")
    blocks = check_blocks(ctx, args)
    if blocks is not None:
        if blocks:
            msg["blocks"] = blocks
        else:
            msg.pop("blocks", None)
    if (metadata := args.json("metadata")) is not None:
        msg["metadata"] = metadata
    msg["edited"] = {"user": BOT_USER_ID, "ts": ctx.state.next_ts()}
    ctx.state.changed()
    return {"ok": True, "channel": channel.id, "ts": msg["ts"], "text": msg["text"], "message": public(msg)}


def _streaming(ctx: Ctx, args: Args) -> dict[str, Any]:
    if not ctx.state.streaming:
        raise ApiError("unknown_method")
    channel = target_channel(ctx, args.get("channel"))
    msg = channel.find(str(args.required("ts")))
    if msg is None:
        raise ApiError("message_not_found")
    if msg.get("user") != BOT_USER_ID:
        raise ApiError("cant_update_message")
    if not msg.get("streaming"):
        raise ApiError("message_not_in_streaming_state")
    return msg


@method("chat.startStream")
def start_stream(ctx: Ctx, args: Args) -> dict[str, Any]:
    """A message the bot writes as it goes (Slack's streaming messages): only in a thread."""
    if not ctx.state.streaming:
        raise ApiError("unknown_method")
    channel = writable(target_channel(ctx, args.get("channel")))
    thread_ts = args.ts("thread_ts")
    if not thread_ts:
        raise ApiError("invalid_arguments")
    msg = bot_message(ctx, str(args.get("markdown_text") or ""), None)
    msg["streaming"] = True
    stored = ctx.state.post(channel, msg, thread_ts=thread_ts)
    return {"ok": True, "channel": channel.id, "ts": stored["ts"]}


@method("chat.appendStream")
def append_stream(ctx: Ctx, args: Args) -> dict[str, Any]:
    msg = _streaming(ctx, args)
    text = args.get("markdown_text")
    if not text:
        raise ApiError("invalid_arguments")
    msg["text"] = str(msg.get("text") or "") + str(text)
    ctx.state.changed()
    return {"ok": True, "channel": args.get("channel"), "ts": msg["ts"]}


@method("chat.stopStream")
def stop_stream(ctx: Ctx, args: Args) -> dict[str, Any]:
    msg = _streaming(ctx, args)
    if args.get("markdown_text"):
        msg["text"] = str(msg.get("text") or "") + str(args.get("markdown_text"))
    blocks = check_blocks(ctx, args)
    if blocks:
        msg["blocks"] = blocks
    msg["streaming"] = False
    ctx.state.changed()
    return {"ok": True, "channel": args.get("channel"), "ts": msg["ts"], "message": public(msg)}


@method("chat.delete")
def delete(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = target_channel(ctx, args.get("channel"))
    ts = str(args.required("ts"))
    msg = channel.find(ts)
    if msg is None:
        raise ApiError("message_not_found")
    if msg.get("user") != BOT_USER_ID:
        raise ApiError("cant_delete_message")
    ctx.state.delete(channel, ts)
    return {"ok": True, "channel": channel.id, "ts": ts}


@method("chat.postEphemeral")
def post_ephemeral(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = writable(target_channel(ctx, args.get("channel")))
    user = ctx.state.user(str(args.required("user")))
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks = _content(ctx, args)
    stored = ctx.state.add_ephemeral(channel, user.id, bot_message(ctx, text, blocks), args.ts("thread_ts"))
    return {"ok": True, "message_ts": stored["ts"]}


@method("chat.getPermalink")
def permalink(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = target_channel(ctx, args.get("channel"))
    msg = channel.find(str(args.required("message_ts")))
    if msg is None:
        raise ApiError("message_not_found")
    link = f"{ctx.base_url}/archives/{channel.id}/p{msg['ts'].replace('.', '')}"
    if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
        link += f"?thread_ts={msg['thread_ts']}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


@method("reactions.add")
def reactions_add(ctx: Ctx, args: Args) -> dict[str, Any]:
    channel = writable(target_channel(ctx, args.get("channel")))
    msg = channel.find(str(args.required("timestamp")))
    if msg is None:
        raise ApiError("message_not_found")
    name = str(args.get("name", "")).strip(":")
    if not name:
        raise ApiError("invalid_name")
    reactions = msg.setdefault("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if entry is None:
        entry = {"name": name, "users": [], "count": 0}
        reactions.append(entry)
    if BOT_USER_ID in entry["users"]:
        raise ApiError("already_reacted")
    entry["users"].append(BOT_USER_ID)
    entry["count"] = len(entry["users"])
    ctx.state.changed()
    return {"ok": True}
