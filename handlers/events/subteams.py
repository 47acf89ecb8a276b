"""User group changes: an approver group's cached members are dropped, so a removal counts at once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)


def register(app: AsyncApp, container: Container) -> None:
    directory = container.directory

    @app.event("subteam_members_changed")
    async def members_changed(event: dict[str, Any]) -> None:
        group = event.get("subteam_id")
        directory.invalidate(group if isinstance(group, str) else None)
        log.info("approver group %s changed members; its cached members were dropped", group)

    @app.event("subteam_updated")
    async def updated(event: dict[str, Any]) -> None:
        subteam = event.get("subteam")
        group = subteam.get("id") if isinstance(subteam, dict) else None
        directory.invalidate(group if isinstance(group, str) else None)
