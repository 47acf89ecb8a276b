"""What Slack does with an app's answers: response_url posts, slash command bodies, response_action.

These are the parts of Slack that react to the app without a Web API call. Callers hold no lock;
each function takes `state.lock` itself and returns a short outcome word for assertions.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox import modals
from sandbox.blocks import block_errors, input_blocks, view_errors, with_ids
from sandbox.state import APP_ID, BOT_ID, BOT_USER_ID, SLACKBOT_ID, ApiError, ResponseTarget, State

MAX_RESPONSE_URL_USES = 5  # Slack: a response_url takes up to five posts.


def parse_body(body: str) -> Any:
    """An app's answer: JSON when it parses, otherwise plain text (Slack accepts both)."""
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return body


def _content(state: State, body: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": body.get("text", ""),
    }
    if body.get("blocks") is not None:
        errors = block_errors(body["blocks"])
        if errors:
            raise ApiError("invalid_blocks", status=400, errors=errors)
        msg["blocks"] = with_ids(body["blocks"], lambda: state.new_id("sb"))
    return msg


def apply_message_reply(state: State, target: ResponseTarget, body: dict[str, Any]) -> str:
    """Apply a response_url post (or a slash command's synchronous answer) to the workspace."""
    with state.lock:
        channel = state.channel(target.channel) if target.channel else state.dm(target.user)
        if body.get("delete_original") in (True, "true") and target.message_ts:
            _delete_original(state, target)
            return "deleted"
        content = _content(state, body)
        if body.get("replace_original") in (True, "true") and target.message_ts:
            _replace_original(state, target, content)
            return "replaced"
        # A reply to an interaction on a threaded message stays in that thread unless told otherwise.
        thread_ts = body.get("thread_ts") or target.thread_ts
        if body.get("response_type") == "in_channel":
            state.post(channel, content, thread_ts=thread_ts)
            return "in_channel"
        state.add_ephemeral(channel, target.user, content, thread_ts)
        return "ephemeral"


def _delete_original(state: State, target: ResponseTarget) -> None:
    if target.ephemeral:
        found = state.find_ephemeral(target.channel or "", target.user, target.message_ts or "")
        if found is not None:
            state.ephemerals.remove(found)
            state.changed()
        return
    state.delete(state.channel(target.channel or ""), target.message_ts or "")


def _replace_original(state: State, target: ResponseTarget, content: dict[str, Any]) -> None:
    original: dict[str, Any] | None
    if target.ephemeral:
        found = state.find_ephemeral(target.channel or "", target.user, target.message_ts or "")
        original = found.message if found else None
    else:
        original = state.channel(target.channel or "").find(target.message_ts or "")
    if original is None:
        raise ApiError("message_not_found", status=404)
    original.pop("blocks", None)
    original.update(content)
    state.changed()


def use_response_url(state: State, token: str, body: dict[str, Any]) -> str:
    with state.lock:
        target = state.responses.get(token)
        if target is None:
            raise ApiError("expired_url", status=404)
        if target.uses >= MAX_RESPONSE_URL_USES:
            raise ApiError("used_url", status=404)
        target.uses += 1
    return apply_message_reply(state, target, body)


def apply_slash_reply(
    state: State, target: ResponseTarget, status: int, body: str, command: str
) -> str | None:
    """A slash command's HTTP answer: a 200 body becomes a message; a failure, Slackbot's complaint."""
    if status != 200:
        with state.lock:
            text = f'{command} failed with the error "dispatch_failed"'
            channel = state.channel(target.channel) if target.channel else state.dm(target.user)
            state.add_ephemeral(channel, target.user, {"user": SLACKBOT_ID, "text": text})
        return "failed"
    reply = parse_body(body)
    if isinstance(reply, str):
        reply = {"text": reply}
    if not isinstance(reply, dict) or (not reply.get("text") and not reply.get("blocks")):
        return None
    return apply_message_reply(state, target, {k: v for k, v in reply.items() if k != "replace_original"})


def apply_view_reply(state: State, user: str, view_id: str, status: int, body: str) -> str:
    """A view_submission's HTTP answer, interpreted like Slack's client does."""
    with state.lock:
        if status != 200:
            state.view_errors[view_id] = {"": f"the app answered HTTP {status}"}
            state.changed()
            return "failed"
        reply = parse_body(body)
        action = reply.get("response_action") if isinstance(reply, dict) else None
        if action is None:
            modals.close(state, user, view_id)
            return "closed"
        if action == "errors":
            errors = dict(reply.get("errors") or {})
            view = next((v for v in state.modals.get(user, []) if v["id"] == view_id), {})
            known = {b["block_id"] for b in input_blocks(view.get("blocks"))}
            if unknown := sorted(set(errors) - known):
                # Slack's client refuses errors keyed by anything but an input block's block_id.
                errors = {"": f"response_action errors names unknown input block_id(s) {unknown}"}
            state.view_errors[view_id] = errors
            state.changed()
            return "failed" if unknown else "errors"
        if action == "clear":
            modals.clear(state, user)
            return "cleared"
        if action in ("update", "push"):
            view = reply.get("view")
            problems = view_errors(view, expected_type="modal")
            if problems:
                state.view_errors[view_id] = {"": "; ".join(problems)}
                state.changed()
                return "failed"
            if action == "update":
                modals.update(state, view, view_id=view_id)
            else:
                modals.push_modal(state, user, view)
            return "updated" if action == "update" else "pushed"
        state.view_errors[view_id] = {"": f"unknown response_action {action!r}"}
        state.changed()
        return "failed"
