"""files.*: Slack's external upload flow (get a URL, POST the bytes there, complete)."""

from __future__ import annotations

import mimetypes
from typing import Any

from sandbox.api_base import Args, Ctx, bot_message, check_blocks, invalid, method, target_channel, writable
from sandbox.state import BOT_USER_ID, ApiError, StoredFile

PREVIEW_CHARS = 1000


def file_api(ctx: Ctx, stored: StoredFile) -> dict[str, Any]:
    """The file object Slack returns, plus `content` (sandbox only) so tests can read text files."""
    mimetype = mimetypes.guess_type(stored.name)[0] or "text/plain"
    extension = stored.name.rsplit(".", 1)[-1].lower() if "." in stored.name else "text"
    text = (stored.data or b"").decode("utf-8", errors="replace")
    return {
        "id": stored.id,
        "created": stored.created,
        "timestamp": stored.created,
        "name": stored.name,
        "title": stored.title or stored.name,
        "mimetype": mimetype,
        "filetype": extension,
        "pretty_type": extension.upper(),
        "user": BOT_USER_ID,
        "size": len(stored.data or b""),
        "is_external": False,
        "url_private": f"{ctx.base_url}/files/{stored.id}",
        "permalink": f"{ctx.base_url}/files/{stored.id}",
        "preview": text[:PREVIEW_CHARS],
        "content": text,
    }


@method("files.getUploadURLExternal")
def get_upload_url(ctx: Ctx, args: Args) -> dict[str, Any]:
    filename = str(args.required("filename"))
    length = args.int("length", -1)
    if length < 0:
        raise invalid("missing required field: length")
    stored = StoredFile(
        id=ctx.state.new_id("F"),
        name=filename,
        length=length,
        alt_txt=args.get("alt_txt"),
        created=int(ctx.state.clock()),
    )
    ctx.state.files[stored.id] = stored
    return {"ok": True, "upload_url": f"{ctx.base_url}/upload/{stored.id}", "file_id": stored.id}


@method("files.completeUploadExternal")
def complete_upload(ctx: Ctx, args: Args) -> dict[str, Any]:
    entries = args.json("files")
    if not isinstance(entries, list) or not entries:
        raise invalid("files must be a non-empty JSON array")
    uploaded = []
    for entry in entries:
        stored = ctx.state.files.get(str(entry.get("id")))
        if stored is None or stored.data is None:
            raise ApiError("file_not_found")
        stored.title = entry.get("title") or stored.title
        uploaded.append(stored)
    channel_ids = [args.get("channel_id")] if args.get("channel_id") else []
    channel_ids += [c for c in str(args.get("channels", "")).split(",") if c]
    files = [file_api(ctx, f) for f in uploaded]
    blocks = check_blocks(ctx, args)
    for channel_id in channel_ids:
        channel = writable(target_channel(ctx, channel_id))
        msg = bot_message(ctx, args.get("initial_comment", ""), blocks)
        msg.update(files=files, upload=True, display_as_bot=False)
        ctx.state.post(channel, msg, thread_ts=args.ts("thread_ts"))
    ctx.state.changed()
    return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in files]}


@method("files.info")
def files_info(ctx: Ctx, args: Args) -> dict[str, Any]:
    stored = ctx.state.files.get(str(args.required("file")))
    if stored is None:
        raise ApiError("file_not_found")
    described = file_api(ctx, stored)
    return {"ok": True, "file": described, "content": described["content"]}
