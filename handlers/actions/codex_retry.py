"""Retry on the message of a build that changed nothing: the build runs again (bot/services/empty_build.py)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import RETRY_ACTION, build_empty_build_outcome, decode_goal_value
from bot.deps import Deps
from bot.services.empty_build import retry_empty_build
from handlers.actions.clicks import Click, Payload


async def retry_build(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, respond: AsyncRespond, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is None:
        return
    done = await click.run(retry_empty_build, service=deps.goals, goal_id=goal_id, actor=click.actor)
    if done is not None:
        outcome = f"↻ <@{click.user}> asked to build task {done.task_id} again (v{done.version})."
        await click.settle(respond, build_empty_build_outcome, outcome)


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(RETRY_ACTION)(retry_build)
