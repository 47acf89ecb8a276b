"""views.*: modals opened with a trigger the sandbox issued, and Home tabs."""

from __future__ import annotations

from typing import Any

from sandbox import modals
from sandbox.api_base import Args, Ctx, check_view, method


@method("views.open")
def views_open(ctx: Ctx, args: Args) -> dict[str, Any]:
    view = check_view(args, "modal")
    trigger = ctx.state.use_trigger(args.get("trigger_id"))
    return {"ok": True, "view": modals.open_modal(ctx.state, trigger.user, view)}


@method("views.push")
def views_push(ctx: Ctx, args: Args) -> dict[str, Any]:
    view = check_view(args, "modal")
    trigger = ctx.state.use_trigger(args.get("trigger_id"))
    return {"ok": True, "view": modals.push_modal(ctx.state, trigger.user, view)}


@method("views.update")
def views_update(ctx: Ctx, args: Args) -> dict[str, Any]:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    _, current = modals.find(ctx.state, view_id, external_id)
    view = check_view(args, current["type"])
    updated = modals.update(
        ctx.state, view, view_id=view_id, external_id=external_id, expected_hash=args.get("hash")
    )
    return {"ok": True, "view": updated}


@method("views.publish")
def views_publish(ctx: Ctx, args: Args) -> dict[str, Any]:
    user = ctx.state.user(str(args.required("user_id")))
    view = check_view(args, "home")
    return {"ok": True, "view": modals.publish_home(ctx.state, user.id, view, args.get("hash"))}
