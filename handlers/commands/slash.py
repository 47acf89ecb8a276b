"""One `/orch` subcommand request, for the subcommands kept in modules of their own.

`/orch` (handlers/commands/orch.py) splits the text and hands the rest to the subcommand as a
`Slash`: Bolt's arguments, the text after the subcommand's name and the typed dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call

T = TypeVar("T")


@dataclass(frozen=True)
class Slash:
    ack: AsyncAck
    command: dict[str, Any]
    respond: AsyncRespond
    client: AsyncWebClient
    rest: str  # the text after the subcommand's name, stripped
    deps: Deps

    @property
    def user(self) -> str:
        return str(self.command["user_id"])

    @property
    def actor(self) -> Actor:
        return Actor(self.user)

    async def answer(self, text: str, *, in_channel: bool = False) -> None:
        """Say it through the command's response_url, to the person only unless `in_channel`."""
        await self.respond(text=text, response_type="in_channel" if in_channel else "ephemeral")

    async def run(self, service: Callable[..., T], /, **kwargs: Any) -> T | None:
        """The service's answer, called off the event loop; None once its refusal was answered."""
        try:
            return await call(service, **kwargs)
        except ServiceError as exc:
            await self.answer(str(exc))
            return None

    async def did(self, service: Callable[..., object], /, **kwargs: Any) -> bool:
        """Did the service do it (off the event loop)? False once its refusal was answered."""
        try:
            await call(service, **kwargs)
        except ServiceError as exc:
            await self.answer(str(exc))
            return False
        return True
