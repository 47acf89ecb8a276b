"""A listener that could not store what it was asked (the database's disk is full, the database is
gone): the person is told that nothing was recorded, and /healthz reports it (bot.observability.storage_health).

Bolt calls this for any error a listener did not handle; other errors are only logged, as Bolt's
own handler does. The answer to Slack was already sent by then (`ack()` comes first), so the person
hears it as an ephemeral message through the request's response_url, or by chat.postEphemeral.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.observability.storage_health import NOT_RECORDED, is_storage_error
from handlers.common import tell

log = logging.getLogger(__name__)


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user, channel) of any request kind."""
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    channel = (
        body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or (body.get("event") or {}).get("channel")
    )
    return (str(user) if user else None), (str(channel) if channel else None)


async def on_error(
    error: Exception, body: dict[str, Any], client: AsyncWebClient, respond: Any, deps: Deps | None
) -> None:
    """Bolt's error handler. `deps` is None when the request failed before the middleware that
    provides it ran (Bolt passes None for an argument the request's context does not have)."""
    log.error("a listener failed: %s", error, exc_info=error)
    if not is_storage_error(error):
        return
    if deps is not None and deps.health is not None:
        deps.health.failed("database", error)
    user, channel = _where(body if isinstance(body, dict) else {})
    try:
        if respond is not None and (body.get("response_url") or body.get("response_urls")):
            await respond(text=NOT_RECORDED, response_type="ephemeral", replace_original=False)
        elif user:
            await tell(client, channel=channel, user=user, text=NOT_RECORDED)
    except Exception:  # Slack unreachable as well: the log and /healthz are what is left
        log.warning("could not tell %s that the request was not recorded", user)


def register(app: AsyncApp, deps: Deps) -> None:
    app.error(on_error)
