"""Retry on the message of a build that changed nothing: the build runs again (bot/services/empty_build.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import RETRY_ACTION, build_empty_build_outcome, decode_goal_value
from bot.services.empty_build import retry_empty_build
from handlers.actions.clicks import Click
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(RETRY_ACTION)
    async def retry(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        click = Click.of(body, client)
        done = await click.attempt(
            lambda: call(
                retry_empty_build,
                service=container.goals,
                goal_id=decode_goal_value(action.get("value", "")),
                actor=click.actor,
            )
        )
        if done is None:
            return
        outcome = f"↻ <@{click.user}> asked to build task {done.task_id} again (v{done.version})."
        await respond(replace_original=True, text=outcome, blocks=build_empty_build_outcome(outcome))
