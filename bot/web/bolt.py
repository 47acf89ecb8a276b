"""Build the Bolt app: the same listeners serve HTTP and Socket Mode."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

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


async def _redact_input(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
    from bot.intake import clean_in_place

    clean_in_place(body)
    await next()


def _provide_deps(container: Container) -> Callable[..., Awaitable[None]]:
    async def provide_deps(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["deps"] = container
        await next()

    return provide_deps
