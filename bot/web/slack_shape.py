"""The shape a signed Slack request must have before Bolt or a listener reads it.

A signature proves the request came from Slack (or from whoever holds the signing secret); it does not
make every field the type the code expects. Bolt's own middleware indexes into `team`, `user`, `view`,
`actions` and `authorizations`, and our listeners into `channel`, `container`, `message` and `view`;
a list where an object belongs would raise inside the framework (a 500, or a crash after the ack).
So each field that is read is checked here against the type Slack documents for it; fields nobody
reads are left alone, since Slack adds new ones all the time. `None` is accepted wherever Slack may
send null. A failed check names the field, for the 400 answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_ITEMS = 100  # lists longer than this are refused: no Slack payload we handle comes close


@dataclass(frozen=True)
class MapOf:
    """An object whose values (under any key) all match `spec`."""

    spec: Any


@dataclass(frozen=True)
class Req:
    """A field that must be present (Bolt's matchers index it directly)."""

    spec: Any


@dataclass(frozen=True)
class OneOf:
    """Any of several specs (Slack sends `team` as an id in some payloads and an object in others)."""

    specs: tuple[Any, ...]


@dataclass(frozen=True)
class Nullable:
    """`spec`, or null. Objects and lists are not null unless wrapped in this."""

    spec: Any


def Url(value: Any, path: str) -> str | None:  # a spec, named like the others
    """A URL Slack gives us to answer on: http(s) only, so a junk value never reaches the HTTP client."""
    if value is None or (isinstance(value, str) and value.startswith(("https://", "http://"))):
        return None
    return f"{path} must be an http(s) URL"


Str = (str, type(None))
Bool = (bool, type(None))
Num = (int, float, type(None))
Dict = (dict, type(None))

TEAM = {"id": Str, "domain": Str, "enterprise_id": Str}
ENTERPRISE = {"id": Str, "name": Str}
USER = {"id": Str, "team_id": Str, "name": Str, "username": Str}
CHANNEL = {"id": Str, "name": Str}
MESSAGE = {
    "ts": Str,
    "thread_ts": Str,
    "user": Str,
    "text": Str,
    "bot_id": Str,
    "subtype": Str,
    "blocks": [dict],
}
CONTAINER = {
    "type": Str,
    "message_ts": Str,
    "channel_id": Str,
    "thread_ts": Str,
    "view_id": Str,
    "is_ephemeral": Bool,
}
VIEW = {
    "id": Str,
    "hash": Str,
    "type": Req((str,)),  # Bolt's matchers read view.type directly (workflow_step or not)
    "callback_id": Req((str,)),
    "private_metadata": Str,
    "team_id": Str,
    "app_installed_team_id": Str,
    "external_id": Str,
    "root_view_id": Str,
    "previous_view_id": Str,
    "blocks": [dict],
    "state": {"values": MapOf(MapOf({"type": Str, "value": Str}))},
}
AUTHORIZATION = {
    "team_id": Str,
    "enterprise_id": Str,
    "user_id": Str,
    "is_bot": Bool,
    "is_enterprise_install": Bool,
}
ACTION = {"action_id": Req((str,)), "block_id": Str, "type": Str, "value": Str, "action_ts": Str}

INTERACTION = {
    # Bolt takes the team and enterprise ids from here and sends them along with every Web API call.
    "type": (str,),
    "user": {**USER, "id": (str,)},
    "team": OneOf((Str, TEAM)),
    "enterprise": OneOf((Str, ENTERPRISE)),
    # The listeners read these three with `or {}`, so null is fine; a view and its state are read directly.
    "channel": Nullable(CHANNEL),
    "container": Nullable(CONTAINER),
    "message": Nullable(MESSAGE),
    "view": VIEW,
    "actions": [ACTION],
    "trigger_id": Str,
    "response_url": Url,
    "response_urls": [{"response_url": Url, "block_id": Str, "action_id": Str}],
    "callback_id": Str,
    "message_ts": Str,
    "action_ts": Str,
    "is_enterprise_install": Bool,
    "authorizations": [AUTHORIZATION],
    "team_id": Str,
    "enterprise_id": Str,
    "api_app_id": Str,
    "token": Str,
    "state": {"values": MapOf(MapOf(dict))},
    "function_data": Dict,
}
# What each interaction type must carry besides `type` and `user.id`.
INTERACTION_NEEDS = {
    "block_actions": ("actions", "trigger_id"),
    "view_submission": ("view",),
    "view_closed": ("view",),
    "message_action": ("callback_id", "channel", "message", "trigger_id"),
    "shortcut": ("callback_id", "trigger_id"),
}
EVENT = {
    "type": (str,),
    "user": OneOf((Str, dict)),
    "channel": OneOf((Str, dict)),
    "text": Str,
    "ts": Str,
    "thread_ts": Str,
    "event_ts": Str,
    "channel_type": Str,
    "tab": Str,
    "bot_id": Str,
    "subtype": Str,
    "team": Str,
    "user_team": Str,
    "item": Dict,
    "message": Dict,
    "previous_message": Dict,
    "view": Dict,
    "blocks": (list, type(None)),
    "assistant_thread": Dict,
}
# The events we listen to are read field by field: there, user and channel are ids.
EVENT_STRICT = {"app_mention", "message", "app_home_opened"}
ENVELOPE = {
    "type": (str,),
    "event": EVENT,
    "team_id": Str,
    "enterprise_id": Str,
    "api_app_id": Str,
    "event_id": Str,
    "event_time": Num,
    "authorizations": [AUTHORIZATION],
    "is_ext_shared_channel": Bool,
    "token": Str,
    "context_team_id": Str,
    "context_enterprise_id": Str,
}


def _type_error(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return True  # a JSON true is not a number or an id
    return not isinstance(value, types)


def check(value: Any, spec: Any, path: str) -> str | None:
    """Why `value` does not match `spec`, naming the field; None when it does."""
    if isinstance(spec, tuple):
        if _type_error(value, spec):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in spec)
            return f"{path} must be {names}"
        return None
    if callable(spec) and not isinstance(spec, type):
        return spec(value, path)
    if isinstance(spec, OneOf):
        problems = [check(value, one, path) for one in spec.specs]
        return None if None in problems else problems[-1]
    if isinstance(spec, Nullable):
        return None if value is None else check(value, spec.spec, path)
    if isinstance(spec, list):
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            return f"{path} must be a list of at most {MAX_ITEMS}"
        for index, item in enumerate(value):
            if problem := check(item, spec[0], f"{path}[{index}]"):
                return problem
        return None
    if spec is dict:
        return None if isinstance(value, dict) else f"{path} must be an object"
    if not isinstance(value, dict):
        return f"{path} must be an object"
    if isinstance(spec, MapOf):
        if len(value) > MAX_ITEMS:
            return f"{path} has too many fields"
        for key, item in value.items():
            if problem := check(item, spec.spec, f"{path}.{key}"):
                return problem
        return None
    for key, sub in spec.items():
        if isinstance(sub, Req):
            if key not in value:
                return f"{path} has no {key}"
            sub = sub.spec
        if key in value and (problem := check(value[key], sub, f"{path}.{key}")):
            return problem
    return None


def interaction_error(payload: Any) -> str | None:
    """Why an interactivity payload (block_actions, view_submission, shortcuts…) cannot be handled."""
    if not isinstance(payload, Mapping):
        return "payload must be an object"
    if problem := check(payload, INTERACTION, "payload"):
        return problem
    if "type" not in payload or not isinstance(payload.get("user"), dict) or "id" not in payload["user"]:
        return "payload has no type or no user"
    for field in INTERACTION_NEEDS.get(payload["type"], ()):
        if payload.get(field) in (None, [], ""):
            return f"payload has no {field}"
    if isinstance(payload.get("view"), dict):
        from bot.blocks import parse_view_values  # the listeners read a view's inputs with this; so do we

        try:
            parse_view_values(payload["view"].get("state", {}).get("values", {}))
        except ValueError as exc:
            return f"payload.view.state: {exc}"
    return None


def event_error(envelope: Any) -> str | None:
    """Why an Events API body cannot be handled."""
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("type"), str):
        return "JSON body has no type"
    if envelope["type"] != "event_callback":
        return None
    if not isinstance(envelope.get("event"), dict):
        return "event_callback without an event"
    if problem := check(envelope, ENVELOPE, "body"):
        return problem
    event = envelope["event"]
    if "type" not in event:
        return "body.event has no type"
    if event["type"] in EVENT_STRICT:
        for key in ("user", "channel"):
            if key in event and not isinstance(event[key], str | None):
                return f"body.event.{key} must be an id"
    return None


def command_error(form: Mapping[str, list[str]]) -> str | None:
    """Why a slash command's form cannot be handled (every form value is a string by construction)."""
    for key in ("command", "user_id", "channel_id", "trigger_id"):
        if not form.get(key, [""])[0]:
            return f"slash command without {key}"
    return Url(form.get("response_url", [None])[0], "response_url")
