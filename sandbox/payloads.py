"""The bodies Slack sends to an app, built from the sandbox state.

Shapes follow Slack's documented payloads for slash commands, block_actions, view_submission,
view_closed, message and global shortcuts, and the Events API envelope. Callers hold the lock.
"""

from __future__ import annotations

from typing import Any

from sandbox.state import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Channel, State

VERIFICATION_TOKEN = "sandbox-verification-token"  # The legacy `token` field; Bolt ignores it.


def team() -> dict[str, str]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def user_ref(state: State, user_id: str) -> dict[str, str]:
    user = state.user(user_id)
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID}


def channel_ref(channel: Channel) -> dict[str, str]:
    return {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name}


def _common(state: State, kind: str, user_id: str) -> dict[str, Any]:
    return {
        "type": kind,
        "user": user_ref(state, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "team": team(),
        "enterprise": None,
        "is_enterprise_install": False,
    }


def slash_command(
    state: State, user_id: str, channel: Channel, command: str, text: str, trigger_id: str, response_url: str
) -> dict[str, str]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel.id,
        "channel_name": channel_ref(channel)["name"],
        "user_id": user_id,
        "user_name": state.user(user_id).name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def button_action(block: dict[str, Any], element: dict[str, Any], action_ts: str) -> dict[str, Any]:
    action = {
        "type": "button",
        "action_id": element.get("action_id"),
        "block_id": block.get("block_id"),
        "text": element.get("text"),
        "action_ts": action_ts,
    }
    for key in ("value", "style", "url"):
        if key in element:
            action[key] = element[key]
    return action


def message_actions(
    state: State,
    user_id: str,
    channel: Channel,
    message: dict[str, Any],
    action: dict[str, Any],
    *,
    ephemeral: bool,
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel.id,
        "is_ephemeral": ephemeral,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    payload = {
        **_common(state, "block_actions", user_id),
        "container": container,
        "trigger_id": trigger_id,
        "channel": channel_ref(channel),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not ephemeral:
        payload["message"] = message  # Slack leaves the message out for ephemeral ones.
    return payload


def view_actions(
    state: State, user_id: str, view: dict[str, Any], action: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    return {
        **_common(state, "block_actions", user_id),
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": trigger_id,
        "view": view,
        "actions": [action],
    }


def view_submission(state: State, user_id: str, view: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    return {
        **_common(state, "view_submission", user_id),
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
    }


def view_closed(state: State, user_id: str, view: dict[str, Any], is_cleared: bool) -> dict[str, Any]:
    return {**_common(state, "view_closed", user_id), "view": view, "is_cleared": is_cleared}


def message_shortcut(
    state: State,
    user_id: str,
    channel: Channel,
    message: dict[str, Any],
    callback_id: str,
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    return {
        **_common(state, "message_action", user_id),
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "action_ts": state.next_ts(),
        "message_ts": message["ts"],
        "message": message,
        "channel": channel_ref(channel),
        "response_url": response_url,
    }


def global_shortcut(state: State, user_id: str, callback_id: str, trigger_id: str) -> dict[str, Any]:
    return {
        **_common(state, "shortcut", user_id),
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "action_ts": state.next_ts(),
    }


def user_message_event(kind: str, channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
    """`app_mention`, or `message` (channel_type "im" or "channel"), for a person's message."""
    event = {
        "type": kind,
        "user": message["user"],
        "text": message["text"],
        "ts": message["ts"],
        "channel": channel.id,
        "event_ts": message["ts"],
        "team": TEAM_ID,
        "client_msg_id": message.get("client_msg_id"),
        "blocks": message.get("blocks", []),
    }
    if message.get("thread_ts"):
        event["thread_ts"] = message["thread_ts"]
    if kind == "message":
        event["channel_type"] = "im" if channel.is_im else "channel"
    return event


def envelope(state: State, event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(state.clock()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-sandbox-{event_id}",
    }
