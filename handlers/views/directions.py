"""A person's directions from a Request changes modal: checked in the form before anything runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.services.errors import ServiceError
from handlers.common import call, tell

T = TypeVar("T")
MAX_DIRECTIONS = 3000


async def read_directions(
    ack: AsyncAck, view: dict[str, Any], decode: Callable[[dict[str, Any]], T], *, field: str = "feedback"
) -> tuple[str, dict[str, Any], T] | None:
    """(the directions, the form's metadata, what `decode` reads from it), the submission acked.

    Empty or too long directions, or metadata that no longer decodes (an old form), are answered
    in the form, which stays open; None then."""
    values = builders.parse_view_values(view.get("state", {}).get("values", {}))
    text = str(values.get(field) or "").strip()
    if not text:
        await ack(response_action="errors", errors={field: "Please write a few words."})
        return None
    if len(text) > MAX_DIRECTIONS:
        await ack(response_action="errors", errors={field: f"Keep it under {MAX_DIRECTIONS} characters."})
        return None
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        decoded = decode(meta)
    except (ValueError, KeyError, TypeError):
        await ack(
            response_action="errors", errors={field: "This form is out of date; click the button again."}
        )
        return None
    await ack()
    return text, meta, decoded


async def carried_out(
    client: AsyncWebClient, user: str, meta: dict[str, Any], service: Callable[..., object], /, **kwargs: Any
) -> bool:
    """Run the service with the directions (off the event loop); False once its refusal was told to
    the person, in the thread the form's metadata names."""
    try:
        await call(service, **kwargs)
    except ServiceError as exc:
        await tell(
            client, channel=meta.get("channel"), user=user, thread_ts=meta.get("thread_ts"), text=str(exc)
        )
        return False
    return True
