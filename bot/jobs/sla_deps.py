"""What the SLA sweep and the overdue-job sweep share: their dependencies, the scheduler's actor,
who can get a DM, and the one reminder row per level that makes every notice happen once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.jobs.sla_policy import SlaPolicy
from bot.services.authority import ApproverDirectory
from bot.services.unit import Actor
from storage.jobs_models import Reminder
from storage.models import Artifact, Goal

SCHEDULER = Actor("scheduler")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9_]{1,30}$")


@dataclass
class SlaDeps:
    engine: Engine
    directory: ApproverDirectory
    policy: SlaPolicy
    allow_self_approval: bool = False
    freshness_max_age: timedelta = timedelta(days=30)  # approved artifacts go stale after (the digest says)
    runs_dir: Path | None = None  # the deployment's run records, for the digest's metrics


def is_slack_user(ref: str) -> bool:
    """Requesters from the CLI are `cli:<name>`; only Slack users (U…, W…) can get a DM."""
    return bool(_SLACK_USER.match(ref or ""))


def record_level(
    session: Session,
    key: str,
    level: str,
    goal: Goal,
    artifact: Artifact | None,
    to: list[str],
    now: datetime,
) -> bool:
    if session.exec(select(Reminder.id).where(Reminder.key == key)).first() is not None:
        return False
    session.add(
        Reminder(
            key=key,
            level=level,
            goal_id=goal.id,
            phase=goal.phase,
            version=artifact.version if artifact else None,
            recipients=to,
            sent_at=now,
        )
    )
    session.flush()
    return True
