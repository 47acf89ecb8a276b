from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.commands import orch

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    orch.register(app, container)
