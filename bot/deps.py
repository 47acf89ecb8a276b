"""The typed dependencies services, effects and jobs are built from: one object, made once.

The composition root (`bot.app.build_container`) makes it from `Settings`; its `Container` adds
what only the processes themselves start and stop (the inbox, the implementer, delivery). Everything
below the root, and every Slack listener (handlers/), types against `Deps`, so nothing imports the
composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.effects.dispatcher import EffectDispatcher
from bot.jobs.sla_policy import SlaPolicy, gate_clock
from bot.services.authority import ApproverDirectory
from bot.services.goals import GoalService
from bot.services.unit import Actor, Clock

if TYPE_CHECKING:
    from bot.effects.port import WorkHandler
    from bot.jobs.digest import Digest
    from bot.jobs.freshness import DueReview
    from bot.jobs.recovery import Retried
    from bot.observability.storage_health import Health
    from storage.models import Artifact


class JobDesk(Protocol):
    """What a person asks of the scheduler side by hand (bot.jobs.runtime.JobsRuntime is one)."""

    def rerequest(self, goal_id: str, actor: Actor) -> Artifact | Retried: ...

    def ask_review(self, goal_id: str, actor: Actor, now: datetime | None = None) -> list[DueReview]: ...

    def post_digest(self, channel: str, *, actor: Actor, now: datetime | None = None) -> Digest: ...

    async def run_ready(self, goal_id: str | None = None) -> int: ...

    def use(self, kind: str, handler: WorkHandler) -> None: ...


@dataclass
class Deps:
    settings: Settings
    engine: Engine
    clock: Clock
    directory: ApproverDirectory
    goals: GoalService
    dispatcher: EffectDispatcher
    slack: AsyncWebClient | None
    # The SLA policy in force once the jobs runtime is installed (business hours, per-phase rules).
    sla: SlaPolicy | None = None
    # What wakes the agent job worker when a service adds work (empty without the jobs runtime).
    job_kicks: list[Callable[[], None]] = field(default_factory=list)
    # Reads CI results of open pull requests (its argument: the period in seconds) when the goals
    # are delivered to a Git host; None for a local repository.
    ci_poller: Callable[[float], int] | None = None
    # The scheduler side, once installed: `/orch digest`, `/orch review` and the reminder DMs' buttons
    # reach it; without it those listeners are not registered.
    jobs: JobDesk | None = None
    # Which stores failed their last write: /healthz and the listeners' error handler read it.
    health: Health | None = None

    @property
    def offline(self) -> bool:
        return self.settings.agent_backend == "offline"

    def approval_due(self, phase: str, since: datetime) -> datetime:
        """When a gate's approval is due: the SLA policy's reminder time (business hours) when the
        scheduler is installed, else `approval_sla_hours` of calendar time."""
        if self.sla is not None:
            return gate_clock(self.sla, phase, since).reminder_at
        return since + timedelta(hours=self.settings.approval_sla_hours)
