"""The typed dependencies services, effects and jobs are built from: one object, made once.

The composition root (`bot.app.build_container`) makes it from `Settings`; its `Container` adds
what only the interfaces reach (the jobs runtime, the inbox, the health monitor, …). Everything
below the root types against `Deps`, so nothing imports the composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.effects.dispatcher import EffectDispatcher
from bot.jobs.sla_policy import SlaPolicy, gate_clock
from bot.services.authority import ApproverDirectory
from bot.services.goals import GoalService
from bot.services.unit import Clock


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

    @property
    def offline(self) -> bool:
        return self.settings.agent_backend == "offline"

    def approval_due(self, phase: str, since: datetime) -> datetime:
        """When a gate's approval is due: the SLA policy's reminder time (business hours) when the
        scheduler is installed, else `approval_sla_hours` of calendar time."""
        if self.sla is not None:
            return gate_clock(self.sla, phase, since).reminder_at
        return since + timedelta(hours=self.settings.approval_sla_hours)
