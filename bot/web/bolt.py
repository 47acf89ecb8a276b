"""Build the Bolt app: the same listeners serve HTTP and Socket Mode."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Container
from bot.web.bolt_runner import PromptAckRunner, Role

log = logging.getLogger(__name__)


def build_bolt_app(container: Container, role: Role = "all") -> AsyncApp:
    """The app of one process: `all` (the default), or the `web` or `worker` half of a split."""
    import handlers
    from handlers.common import ordering_key, runs_in_web

    settings = container.settings
    if container.slack is None:
        raise RuntimeError("a Slack client is needed: set SLACK_BOT_TOKEN")
    app = AsyncApp(
        client=container.slack,
        signing_secret=settings.slack_signing_secret.get_secret_value()
        if settings.slack_signing_secret
        else None,
        # The HTTP front door (bot.web.server) verifies signatures once, before parsing.
        request_verification_enabled=False,
        ignoring_self_events_enabled=True,
        logger=logging.getLogger("bolt"),
    )
    # Whatever a person typed (slash text, modal fields, messages) is redacted before any
    # listener sees it: one door for HTTP and Socket Mode alike (bot.intake).
    app.use(_redact_input)
    # The typed dependencies reach listeners as the `deps` argument, like Bolt's own arguments
    # (Bolt injects any key of the request's context by name).
    app.use(_provide_deps(container))
    # The listeners' `client`, `say()` and `respond()` over the loop's kept-alive HTTP session
    # (bot.slack_http) instead of a new connection per call.
    app.use(_shared_http(container.slack))
    # Answer as soon as a listener calls ack() instead of Bolt's 10 ms polling (see bot.web.bolt_runner).
    inbox = None
    if role != "all":
        from storage.inbox import Inbox

        inbox = container.inbox or Inbox.open(settings.database_url, container.engine)
        container.inbox = inbox
    app._async_listener_runner = PromptAckRunner.replacing(
        app.listener_runner,
        role=role,
        inbox=inbox,
        runs_in_web=runs_in_web,
        ordering_key=ordering_key,
        health=container.health,
    )
    handlers.register_all(app, container)
    return app


# Set on a request the worker reads from the inbox: the web process cleaned its body at the door
# before keeping it (bot.bolt_runner), so scanning it again would find nothing new.
CLEANED_AT_DOOR = "orch_cleaned_at_door"


async def _redact_input(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
) -> None:
    if not context.get(CLEANED_AT_DOOR):
        from bot.intake import clean_in_place

        clean_in_place(body)
    await next()


def _provide_deps(container: Container) -> Callable[..., Awaitable[None]]:
    async def provide_deps(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["deps"] = container
        await next()

    return provide_deps


def _shared_http(client: AsyncWebClient) -> Callable[..., Awaitable[None]]:
    """Bolt makes a plain client per request (without the guard of bot.slack_guard) and a new
    webhook client per `respond()`; both would open a connection per call. Listeners get the
    composition root's client instead (one workspace, one token: nothing per request to keep
    apart), and a `respond()` over the loop's session."""

    async def shared_http(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        from slack_bolt.context.say.async_say import AsyncSay

        from bot.slack_http import SharedRespond

        context["client"] = client
        say = context.get("say")
        if say is not None and getattr(say, "client", None) is not client:  # made before us, on Bolt's
            context["say"] = AsyncSay(client=client, channel=context.channel_id)
        url = context.response_url
        if url is not None:
            context["respond"] = SharedRespond(response_url=url)
        await next()

    return shared_http
