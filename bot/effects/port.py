"""What an effect handler needs of the outbox and of the Slack side, without importing either.

The dispatcher (`bot.effects.dispatcher`) runs handlers and `SlackEffects`
(`bot.effects.slack_effects`) owns the Slack client and the goal's messages; the smaller handler
families (failures, modes, conflicts, status, …) hand their handlers to the composition root's
table (`bot.effects.table`) and call back into them.
Typing those families against the protocols here keeps every import arrow pointing one way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.services.gates import Gate
from bot.sop.effect_kinds import Payload, read
from storage.models import Effect, Goal
from storage.sessions import Engine

Handler = Callable[[Effect], Awaitable[None]]


class Work(Protocol):
    """What a handler of agent work reads of its job (`bot.jobs.queue.Claimed`); an outbox row has
    the same fields, so the wrappers that open a goal's clone serve both."""

    @property
    def key(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def goal_id(self) -> str | None: ...

    @property
    def payload(self) -> dict[str, Any]: ...

    @property
    def attempts(self) -> int: ...


WorkHandler = Callable[[Work], Awaitable[None]]
FAILURE_NOTE = "notify.failure"
P = TypeVar("P", bound=Payload)


class RetryLater(Exception):
    """A handler asks to be run again later (for example the thread is not posted yet)."""


class WaitForPerson(RetryLater):
    """The effect cannot succeed until a person repairs what its handler reported (the repository
    is mid-merge, read-only, …): it is looked at again every `delay` seconds without using up its
    attempts or its retry horizon, so nothing is lost however long the repair takes."""

    def __init__(self, message: str, *, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


def payload_of(effect: Work, kind: type[P]) -> P:
    """The effect's stored payload read as `kind`'s type, so a handler reads typed attributes rather
    than dictionary keys (fields another version wrote are left aside; a row that does not fit its
    kind is `MalformedPayload`, which fails the effect for good)."""
    return read(kind, effect.payload or {})


def marker(effect: Effect) -> str:
    """The marker a posted message carries, so a retry finds the message instead of posting twice."""
    return f"orch-e{effect.id}"


@dataclass(frozen=True)
class Looks:
    """What a goal's card and progress message are drawn from: its gate, and for a done goal
    whether work of it is still unmade ("failed", "finishing") — read once for both."""

    gate: Gate
    held: str | None


class StatusPort(Protocol):
    """The goal's progress message, edited in place (`bot.effects.slack_status.StatusMessages`)."""

    async def refresh(self, goal: Goal, detail: str | None = None, *, looks: Looks | None = None) -> None: ...


class SlackPort(Protocol):
    """What the handler families use of `SlackEffects`."""

    streaming: bool  # Slack's streaming messages are used until the workspace refuses them

    @property
    def engine(self) -> Engine: ...

    @property
    def client(self) -> AsyncWebClient: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def tz(self) -> str: ...

    @property
    def approvals_required(self) -> int: ...

    @property
    def stop_button(self) -> bool: ...

    @property
    def status(self) -> StatusPort: ...

    def goal(self, goal_id: str | None) -> Goal | None: ...

    def goal_thread(self, goal_id: str | None) -> tuple[Goal, str, str] | None: ...

    def gate(self, goal: Goal) -> Gate: ...

    def held(self, goal: Goal) -> str | None: ...

    def looks(self, goal: Goal) -> Looks: ...

    async def find_marker(self, channel: str, thread_ts: str | None, mark: str) -> str | None: ...

    async def post(
        self,
        effect: Effect,
        *,
        channel: str,
        thread_ts: str | None,
        blocks: list[dict[str, Any]],
        text: str,
        mark: str | None = None,
    ) -> str: ...

    async def update(self, *, channel: str, ts: str, blocks: list[dict[str, Any]], text: str) -> None: ...
