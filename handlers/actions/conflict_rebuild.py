"""Rebase and rebuild, on a merge-conflict message: build the task again on main as it is now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.conflicts import CONFLICT_REBUILD_ACTION, decode_conflict_value
from bot.services.merges import rebuild_after_conflict
from handlers.actions.clicks import Click
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(CONFLICT_REBUILD_ACTION)
    async def rebuild(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        decoded = await click.decode(decode_conflict_value, action)
        if decoded is None:
            return
        goal_id, task_id, _version = decoded
        version = await click.attempt(
            lambda: call(
                rebuild_after_conflict,
                service=container.goals,
                goal_id=goal_id,
                task_id=task_id,
                actor=click.actor,
            )
        )
        if version is not None:
            await click.tell(
                f"{goal_id}: task {task_id} is being built again on the current main (v{version})."
            )
