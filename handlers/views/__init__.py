from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.views import reasons, start

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    start.register(app, container)
    reasons.register(app, container)
