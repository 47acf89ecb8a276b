"""A button click on a goal's message: who clicked where, and telling them when it cannot be done.

Buttons carry a value the listener decodes (a broken one raises ValueError) and then ask a service,
which may refuse (ServiceError); either way the person who clicked is told, privately, in the thread.
Every button listener has the same shape: `Click.acked` (ack first, then who and where), `decode`
the button's value, `run` the service, then `settle` the message or `tell` the person.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call, open_modal, tell

T = TypeVar("T")
# What Bolt hands a listener as `action` and `body`: Slack's JSON, read with `.get`.
Payload = dict[str, Any]


def where(body: Payload) -> tuple[str | None, str | None, str | None]:
    """(channel, message ts, thread ts) of the clicked message."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    return channel, message.get("ts") or container.get("message_ts"), thread_ts


@dataclass(frozen=True)
class Click:
    client: AsyncWebClient
    user: str
    channel: str | None
    ts: str | None
    thread_ts: str | None
    trigger_id: str | None

    @classmethod
    def of(cls, body: Payload, client: AsyncWebClient) -> Click:
        channel, ts, thread_ts = where(body)
        return cls(client, body["user"]["id"], channel, ts, thread_ts, body.get("trigger_id"))

    @classmethod
    async def acked(cls, ack: AsyncAck, body: Payload, client: AsyncWebClient) -> Click:
        """Answer Slack at once (it waits 3 seconds), then read who clicked where."""
        await ack()
        return cls.of(body, client)

    @property
    def actor(self) -> Actor:
        return Actor(self.user, self.trigger_id)

    async def tell(self, text: str) -> None:
        """An ephemeral message to the person who clicked, in the clicked message's thread."""
        await tell(self.client, channel=self.channel, user=self.user, thread_ts=self.thread_ts, text=text)

    async def decode(self, decoder: Callable[[str], T], action: Payload) -> T | None:
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

    async def run(self, service: Callable[..., T], /, **kwargs: Any) -> T | None:
        """A service's answer, called off the event loop; None once its refusal was told to the person."""
        return await self.attempt(lambda: call(service, **kwargs))

    async def did(self, service: Callable[..., object], /, **kwargs: Any) -> bool:
        """Did the service do it (off the event loop)? False once its refusal was told to the person."""

        async def work() -> bool:
            await call(service, **kwargs)
            return True

        return await self.attempt(work) is not None

    async def approver(self, deps: Deps, refusal: str) -> bool:
        """Is the person an approver somewhere? Anyone else is told `refusal` (the service checks the
        goal's own approvers again)."""
        if deps.directory.is_approver_anywhere(self.user):
            return True
        await self.tell(refusal)
        return False

    async def open(self, view: Any) -> bool:
        """Open a modal on this click (its trigger lives 3 seconds); a refusal is told to the person."""
        return await open_modal(
            self.client,
            trigger_id=self.trigger_id or "",
            view=view,
            user=self.user,
            channel=self.channel,
            thread_ts=self.thread_ts,
        )

    async def settle(self, respond: AsyncRespond, build: Callable[[str], Any], outcome: str) -> None:
        """The clicked message's buttons give way to what was done, so nobody clicks them again."""
        await respond(replace_original=True, text=outcome, blocks=build(outcome))
