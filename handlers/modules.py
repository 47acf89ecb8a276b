"""Each listener subpackage registers every module of its own that has a `register(app, deps)`."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps


def register_modules(app: AsyncApp, deps: Deps, package: str, path: Iterable[str]) -> None:
    """Import the package's modules in name order and let each wire its listeners."""
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        if hasattr(module, "register"):
            module.register(app, deps)
