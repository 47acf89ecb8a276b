"""The Slack listeners as the Bolt app holds them: module-level functions that get the typed
dependencies, never closures over the container, and every button's press findable by name."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.app import build_container
from bot.deps import Deps
from bot.web.bolt import build_bolt_app
from handlers.actions.clicks import Button, pressed
from tests.conftest import make_settings


def bolt_app(tmp_path: Path) -> AsyncApp:
    settings = make_settings(
        tmp_path,
        tmp_path,
        slack_bot_token="xoxb-wiring-test",
        slack_signing_secret="wiring-test-secret",
        slack_api_url="http://127.0.0.1:9/api/",
    )
    return build_bolt_app(build_container(settings))


def module_level(fn: Any) -> bool:
    """Is `fn` reachable by its name from its module (not a closure made inside another function)?"""
    module = inspect.getmodule(fn)
    return "<locals>" not in fn.__qualname__ and getattr(module, fn.__name__, None) is fn


def buttons_of(listener: Any) -> list[Button[Any]]:
    """The Button a `pressed` listener serves, read from the middleware `wire` gave it."""
    found = []
    for middleware in listener.middleware:
        for cell in getattr(middleware.func, "__closure__", None) or ():
            if isinstance(cell.cell_contents, Button):
                found.append(cell.cell_contents)
    return found


def test_every_listener_is_a_module_level_function_of_the_handlers(tmp_path: Path) -> None:
    app = bolt_app(tmp_path)
    functions = [listener.ack_function for listener in app._async_listeners]
    assert len(functions) >= 30
    for fn in functions:
        assert fn.__module__.startswith("handlers."), fn
        assert module_level(fn), f"{fn.__module__}.{fn.__qualname__} is not module-level"
        hints = inspect.signature(fn).parameters
        # Listeners get the typed dependencies object (annotated `Deps`), never the container.
        assert "container" not in hints
        if "deps" in hints:
            assert hints["deps"].annotation in ("Deps", Deps), fn


def test_every_button_press_is_a_module_level_function_with_its_own_decoder(tmp_path: Path) -> None:
    app = bolt_app(tmp_path)
    served = [listener for listener in app._async_listeners if listener.ack_function is pressed]
    assert len(served) >= 20
    for listener in served:
        (button,) = buttons_of(listener)
        assert module_level(button.press), button.press
        assert button.press.__module__.startswith("handlers.actions."), button.press
        assert callable(button.decode)
