"""A button click on a goal's message: who clicked where, and telling them when it cannot be done.

Buttons carry a value the listener decodes (a broken one raises ValueError) and then ask a service,
which may refuse (ServiceError); either way the person who clicked is told, privately, in the thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import tell

T = TypeVar("T")


@dataclass(frozen=True)
class Click:
    client: AsyncWebClient
    user: str
    channel: str | None
    ts: str | None
    thread_ts: str | None
    trigger_id: str | None

    @classmethod
    def of(cls, body: dict[str, Any], client: AsyncWebClient) -> Click:
        channel, ts, thread_ts = where(body)
        return cls(client, body["user"]["id"], channel, ts, thread_ts, body.get("trigger_id"))

    @property
    def actor(self) -> Actor:
        return Actor(self.user, self.trigger_id)

    async def tell(self, text: str) -> None:
        """An ephemeral message to the person who clicked, in the clicked message's thread."""
        await tell(self.client, channel=self.channel, user=self.user, thread_ts=self.thread_ts, text=text)

    async def decode(self, decoder: Callable[[str], T], action: dict[str, Any]) -> T | None:
        """The button's value, decoded; None once a broken one was told to the person."""
        try:
            return decoder(action.get("value", ""))
        except ValueError as exc:
            await self.tell(f"That button is broken: {exc}")
            return None

    async def attempt(self, work: Callable[[], Awaitable[T]]) -> T | None:
        """What `work` returns; None once a broken value or the service's refusal was told to the person."""
        try:
            return await work()
        except ValueError as exc:
            await self.tell(f"That button is broken: {exc}")
        except ServiceError as exc:
            await self.tell(str(exc))
        return None
