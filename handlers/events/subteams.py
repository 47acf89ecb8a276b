"""User group changes: an approver group's cached members are dropped, so a removal counts at once."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps

log = logging.getLogger(__name__)


def _group(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def members_changed(event: dict[str, Any], deps: Deps) -> None:
    group = event.get("subteam_id")
    deps.directory.invalidate(_group(group))
    log.info("approver group %s changed members; its cached members were dropped", group)


async def subteam_updated(event: dict[str, Any], deps: Deps) -> None:
    subteam = event.get("subteam")
    deps.directory.invalidate(_group(subteam.get("id") if isinstance(subteam, dict) else None))


def register(app: AsyncApp, deps: Deps) -> None:
    app.event("subteam_members_changed")(members_changed)
    app.event("subteam_updated")(subteam_updated)
