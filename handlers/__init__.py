"""Slack listeners only: each kind has a subpackage with `register(app, deps)`.

Every listener is a module-level function; Bolt passes it the typed dependencies (`bot.deps.Deps`)
as its `deps` argument, which the Bolt app's middleware puts in each request's context
(bot/web/bolt.py). `register` only wires the functions to what they listen for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import actions, commands, events, shortcuts, storage_errors, views

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.deps import Deps


def register_all(app: AsyncApp, deps: Deps) -> None:
    for module in (commands, actions, views, events, shortcuts):
        module.register(app, deps)
    storage_errors.register(app, deps)  # Bolt's error handler: a request that could not be kept
