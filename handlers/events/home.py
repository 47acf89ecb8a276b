"""App Home: approvals waiting for me, my goals, recent activity."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.deps import Deps
from bot.effects.retry import slack_error_code
from bot.services.home import home_view
from handlers.common import call

log = logging.getLogger(__name__)


async def home_opened(event: dict[str, Any], client: AsyncWebClient, deps: Deps) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    view = await call(home_view, container=deps, user=event["user"])
    published = builders.build_home(view)
    from bot.observability.metrics_report import (
        metrics_home_blocks,  # the metrics section (bot/observability/metrics_report.py)
    )
    from bot.observability.runs import runs_dir_for

    published["blocks"] += await call(
        metrics_home_blocks,
        engine=deps.engine,
        runs_dir=runs_dir_for(deps.settings),
        now=deps.clock(),
    )
    try:
        await client.views_publish(user_id=event["user"], view=published)
    except SlackApiError as exc:  # a user Slack does not know (deleted, another workspace): nothing to show
        log.warning("could not publish the Home tab of %s (%s)", event["user"], slack_error_code(exc))


def register(app: AsyncApp, deps: Deps) -> None:
    app.event("app_home_opened")(home_opened)
