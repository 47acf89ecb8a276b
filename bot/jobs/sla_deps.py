"""What the SLA sweep and the overdue-job sweep share: their dependencies, the scheduler's actor,
the gate's current artifact, and the one reminder row per level that makes every notice happen once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.jobs.sla_policy import SlaPolicy
from bot.services.authority import ApproverDirectory
from bot.services.unit import Actor
from bot.sop.gates import is_slack_user  # noqa: F401 - who can get a DM, shared by both sweeps
from storage.models import Artifact, Goal
from storage.repositories import Reminders

SCHEDULER = Actor("scheduler")


@dataclass
class SlaDeps:
    engine: Engine
    directory: ApproverDirectory
    policy: SlaPolicy
    allow_self_approval: bool = False
    freshness_max_age: timedelta = timedelta(days=30)  # approved artifacts go stale after (the digest says)
    runs_dir: Path | None = None  # the deployment's run records, for the digest's metrics
    prices: dict[str, Any] = field(default_factory=dict)  # the price table, for the digest's cost line


def record_level(
    session: Session,
    key: str,
    level: str,
    goal: Goal,
    artifact: Artifact | None,
    to: list[str],
    now: datetime,
) -> bool:
    return Reminders(session).add(
        key=key,
        level=level,
        goal_id=goal.id,
        phase=goal.phase,
        version=artifact.version if artifact else None,
        recipients=to,
        now=now,
    )
