"""Slack request bodies and signatures for the load generator (light: stdlib only).

The shapes are those `sandbox/payloads.py` builds (Slack's documented payloads). The bodies are
built before a run; each request is signed at the moment it is sent, as Slack does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

TEAM = {"id": "T0SANDBOX", "domain": "sandbox"}
APP_ID = "A0SANDBOX"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def headers(secret: bytes, body: bytes, content_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, body),
    }


def slash(text: str, *, user: str, channel: str, response_url: str, n: int) -> tuple[bytes, str]:
    fields = {
        "token": "sandbox-verification-token",
        "team_id": TEAM["id"],
        "team_domain": TEAM["domain"],
        "channel_id": channel,
        "channel_name": "dev",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/orch",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"bench.{n}.trigger",
    }
    return urllib.parse.urlencode(fields).encode(), FORM


def click(
    value: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    thread_ts: str | None,
    n: int,
    action_id: str = "orch_approve",
) -> tuple[bytes, str]:
    """A block_actions payload: `user` clicked the button with `value` on a message in `channel`."""
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "text": "artifact", "user": "UBOT"}
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts:
        message["thread_ts"] = thread_ts
        container["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "sandbox-verification-token",
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        "container": container,
        "trigger_id": f"bench.{n}.trigger",
        "channel": {"id": channel, "name": "dev"},
        "message": message,
        "state": {"values": {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "orch-decision",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), FORM


def dm_event(text: str, *, user: str, event_id: str, ts: str) -> tuple[bytes, str]:
    """A person's message in the bot's DM (Events API `message`, channel_type im)."""
    channel = "D" + user.removeprefix("U")
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM["id"],
        "channel_type": "im",
    }
    envelope = {
        "token": "sandbox-verification-token",
        "team_id": TEAM["id"],
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM["id"],
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(envelope).encode(), JSON
