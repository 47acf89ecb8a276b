"""Shared pieces of every use case: the clock, ids, the outbox and the audit entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.sop.effect_kinds import AGENT_KINDS, Payload, parse
from bot.sop.ids import GOAL_ID_RE, sha256_text  # noqa: F401 - shared with the services
from bot.sop.job_text import describe
from bot.sop.phases import Phase
from storage.audit import append_audit
from storage.models import Goal
from storage.repositories import Counters, Effects, Goals, Jobs
from storage.sessions import Session

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def next_goal_id(session: Session, floor: int = 0) -> str:
    """Atomically take the next goal number; ids are ours, never derived from user text.

    `floor` is the highest number already used elsewhere (the target repository remembers goals a
    lost database forgot): the number taken is always above it."""
    return f"G-{Counters(session).next_goal_number(floor):04d}"


def load_goal_for_update(session: Session, goal_id: str) -> Goal | None:
    if not GOAL_ID_RE.match(goal_id or ""):
        return None
    return Goals(session).for_update(goal_id)


def add_effect(
    session: Session,
    *,
    key: str,
    goal_id: str | None,
    now: datetime,
    payload: Payload,
    not_before: datetime | None = None,
) -> bool:
    """Record a side effect in the current transaction; a duplicate key is a no-op (False).

    The payload's type is its kind (`bot.sop.effect_kinds`); it is checked again as stored, so a
    payload built with `model_construct` or changed after it was made cannot slip through.

    Agent work (a draft, a build) is a job: added to the jobs table in the same transaction, after
    the goal's effects recorded so far (`storage.jobs_models.Job.follows`)."""
    kind = payload.KIND
    data = payload.data()
    parse(kind, data)
    if kind in AGENT_KINDS:
        return add_job(
            session, key=key, kind=kind, goal_id=goal_id, now=now, data=data, not_before=not_before
        )
    return Effects(session).add(
        key=key, kind=kind, goal_id=goal_id, now=now, payload=data, not_before=not_before
    )


def add_job(
    session: Session,
    *,
    key: str,
    kind: str,
    goal_id: str | None,
    now: datetime,
    data: dict[str, Any],
    not_before: datetime | None = None,
) -> bool:
    """Queue agent work in the current transaction; a duplicate key is a no-op (False).

    The job starts once the goal's commits recorded before it are made. The Scaffold Check
    (quick, no model: it reads the repository) is `in_order`: the goal's commits recorded after it
    wait until it has looked, as the goal's "start goal" commit writes into what it reads."""
    added = Jobs(session).add(
        key=key,
        kind=kind,
        goal_id=goal_id,
        now=now,
        payload=data,
        description=describe(kind, data),
        follows=Effects(session).last_id(goal_id) if goal_id else None,
        in_order=kind == "draft" and data.get("phase") == Phase.SCAFFOLD_CHECK.value,
        not_before=not_before,
    )
    return added is not None


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
