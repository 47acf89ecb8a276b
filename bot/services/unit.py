"""Shared pieces of every use case: the clock, ids, the outbox and the audit entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from bot.sop.ids import GOAL_ID_RE, sha256_text  # noqa: F401 - shared with the services
from storage.audit import append_audit
from storage.models import Effect, Goal

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def next_goal_id(session: Session, floor: int = 0) -> str:
    """Atomically take the next goal number; ids are ours, never derived from user text.

    `floor` is the highest number already used elsewhere (the target repository remembers goals a
    lost database forgot): the number taken is always above it."""
    value = session.execute(
        text(
            "INSERT INTO counters (name, value) VALUES ('goal', :first) "
            "ON CONFLICT (name) DO UPDATE SET value = CASE WHEN counters.value >= :floor "
            "THEN counters.value + 1 ELSE :first END RETURNING value"
        ),
        {"first": floor + 1, "floor": floor},
    ).scalar_one()
    return f"G-{value:04d}"


def load_goal_for_update(session: Session, goal_id: str) -> Goal | None:
    if not GOAL_ID_RE.match(goal_id or ""):
        return None
    return session.exec(select(Goal).where(Goal.id == goal_id).with_for_update()).first()


def add_effect(
    session: Session, *, key: str, kind: str, goal_id: str | None, now: datetime, **payload: Any
) -> None:
    """Record a side effect in the current transaction; a duplicate key is a no-op."""
    if session.exec(select(Effect.id).where(Effect.key == key)).first() is not None:
        return
    session.add(Effect(key=key, kind=kind, goal_id=goal_id, payload=payload, created_at=now))


@dataclass(frozen=True)
class Actor:
    """Who acts: a Slack user id, or `cli:<name>`, `bot`, `system`, `scheduler`."""

    id: str
    request_id: str | None = None
    os_user: str | None = None  # the operating-system user who ran a CLI command, recorded in the audit


def audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    goal: Goal | None = None,
    phase: str | None = None,
    sha: str | None = None,
    justification: str | None = None,
    run_id: str | None = None,
    **payload: Any,
) -> None:
    append_audit(
        session,
        actor=actor.id,
        action=action,
        goal_id=goal.id if goal else payload.pop("goal_id", None),
        phase=phase if phase is not None else (goal.phase if goal else None),
        artifact_sha256=sha,
        mode=goal.mode if goal else None,
        justification=justification,
        request_id=actor.request_id,
        run_id=run_id,
        payload=({**payload, "os_user": actor.os_user} if actor.os_user else payload) or None,
        at=now,
    )
