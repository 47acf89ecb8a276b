"""Slack listeners only: each kind has a subpackage with `register(app, container)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import actions, commands, events, shortcuts, storage_errors, views

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.app import Container


def register_all(app: AsyncApp, container: Container) -> None:
    for module in (commands, actions, views, events, shortcuts):
        module.register(app, container)
    storage_errors.register(app, container)  # Bolt's error handler: a request that could not be kept
