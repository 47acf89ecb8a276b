"""A button click on a goal's message: who clicked where, and telling them when it cannot be done.

Buttons carry a value the listener decodes (a broken one raises ValueError) and then ask a service,
which may refuse (ServiceError); either way the person who clicked is told, privately, in the thread.
Most buttons are a `Button`: what it listens for, how its value decodes and what a press does
(`press(click, value, deps)`). They share one listener, `pressed`: ack first, read who clicked
where, decode the value (a broken one is told), then the press, which `run`s a service and then
`settle`s the message or `tell`s the person. `wire` registers buttons with that listener.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call, open_modal, tell

T = TypeVar("T")
V = TypeVar("V")
# What Bolt hands a listener as `action` and `body`: Slack's JSON, read with `.get`.
Payload = dict[str, Any]


def where(body: Payload) -> tuple[str | None, str | None, str | None]:
    """(channel, message ts, thread ts) of the clicked message."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    return channel, message.get("ts") or container.get("message_ts"), thread_ts


def goal_id_value(value: str) -> str:
    """A button whose value is the goal id itself (bounded: the value came back from Slack)."""
    return str(value or "")[:40]


@dataclass(frozen=True)
class Click:
    client: AsyncWebClient
    user: str
    channel: str | None
    ts: str | None
    thread_ts: str | None
    trigger_id: str | None
    # The button itself (`action_id`, `value`), the message it is on (its blocks), and Bolt's
    # `respond` for that message.
    action: Payload = field(default_factory=dict)
    message: Payload = field(default_factory=dict)
    respond: AsyncRespond | None = None

    @classmethod
    def of(cls, body: Payload, client: AsyncWebClient, respond: AsyncRespond | None = None) -> Click:
        channel, ts, thread_ts = where(body)
        action = next(iter(body.get("actions") or []), None) or {}
        user, trigger_id, message = body["user"]["id"], body.get("trigger_id"), body.get("message") or {}
        return cls(client, user, channel, ts, thread_ts, trigger_id, action, message, respond)

    @classmethod
    async def acked(
        cls, ack: AsyncAck, body: Payload, client: AsyncWebClient, respond: AsyncRespond | None = None
    ) -> Click:
        """Answer Slack at once (it waits 3 seconds), then read who clicked where."""
        await ack()
        return cls.of(body, client, respond)

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

    async def settle(self, build: Callable[[str], Any], outcome: str) -> None:
        """The clicked message's buttons give way to what was done, so nobody clicks them again."""
        if self.respond is not None:
            await self.respond(replace_original=True, text=outcome, blocks=build(outcome))


@dataclass(frozen=True)
class Button(Generic[V]):
    """One kind of button: the action id it listens for (or a pattern of them), how its value
    decodes (ValueError for a broken one) and what a press does with the decoded value."""

    action_id: str | re.Pattern[str]
    decode: Callable[[str], V]
    press: Callable[[Click, V, Deps], Awaitable[None]]


async def pressed(
    ack: AsyncAck,
    action: Payload,
    body: Payload,
    client: AsyncWebClient,
    respond: AsyncRespond,
    deps: Deps,
    button: Button[Any],
) -> None:
    """The listener of every `Button` (`button` is put in the request's context by `wire`)."""
    click = await Click.acked(ack, body, client, respond)
    value = await click.decode(button.decode, action)
    if value is not None:
        await button.press(click, value, deps)


def wire(app: AsyncApp, *buttons: Button[Any]) -> None:
    """Register each button with `pressed`; a listener middleware names the button pressed."""
    for button in buttons:
        app.action(button.action_id, middleware=[_naming(button)])(pressed)


def _naming(button: Button[Any]) -> Callable[..., Awaitable[None]]:
    async def name_button(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["button"] = button
        await next()

    return name_button
