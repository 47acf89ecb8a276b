"""Listeners of this kind: every module here with a `register(app, deps)` is registered."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from handlers.modules import register_modules


def register(app: AsyncApp, deps: Deps) -> None:
    register_modules(app, deps, __name__, __path__)
