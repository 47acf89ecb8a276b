"""The jobs table as a queue: enqueue, claim, heartbeat, finish, re-queue, cancel.

A claim is atomic on both databases: on PostgreSQL the rows are locked with
`SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers take different jobs without waiting;
on SQLite the transaction starts with BEGIN IMMEDIATE (storage.db), which serialises writers.
Every state change after the claim names the attempt's `run_id`, so a worker that lost its
job (re-queued after its heartbeat expired, or cancelled) cannot overwrite what came after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.redact import redact
from bot.services.unit import add_effect
from bot.sop.effect_kinds import ThreadNote
from storage.audit import append_audit
from storage.db import read_session, transaction
from storage.jobs_models import Job
from storage.repositories import Jobs
from storage.repositories.jobs import ACTIVE, in_goal_order


@dataclass(frozen=True)
class Claimed:
    """A job as claimed by one worker (a plain copy: safe to hand to another thread)."""

    id: int
    key: str
    kind: str
    goal_id: str | None
    phase: str | None
    payload: dict[str, Any]
    run_id: str
    attempts: int
    max_attempts: int
    created_at: datetime


def _audit(session: Session, job: Job, action: str, now: datetime, **payload: Any) -> None:
    append_audit(
        session,
        actor="bot",
        action=action,
        at=now,
        goal_id=job.goal_id,
        phase=job.phase,
        run_id=job.run_id,
        payload={"job": job.id, "kind": job.kind, **payload},
    )


def enqueue(engine: Engine, **kwargs: Any) -> int:
    """Add a job in its own transaction (idempotent by key, also under a concurrent insert)."""
    try:
        with transaction(engine) as session:
            jobs = Jobs(session)
            job = jobs.add(**kwargs) or jobs.by_key(kwargs["key"])
            assert job is not None and job.id is not None
            return job.id
    except IntegrityError:
        with read_session(engine) as session:
            row = session.exec(select(Job.id).where(Job.key == kwargs["key"])).one()
            assert row is not None
            return int(row)


def _copy(job: Job) -> Claimed:
    assert job.id is not None and job.run_id is not None
    return Claimed(
        job.id,
        job.key,
        job.kind,
        job.goal_id,
        job.phase,
        dict(job.payload),
        job.run_id,
        job.attempts,
        job.max_attempts,
        job.created_at,
    )


def _take(session: Session, job: Job, now: datetime, worker: str, max_attempts: int | None) -> Claimed:
    job.status = "running"
    if max_attempts is not None:
        job.max_attempts = max_attempts
    job.attempts += 1
    job.run_id = uuid.uuid4().hex
    job.worker = worker
    job.started_at = now
    job.heartbeat_at = now
    job.not_before = None
    session.add(job)
    session.flush()
    _audit(session, job, "job.started", now, worker=worker, attempt=job.attempts)
    return _copy(job)


def claim(
    engine: Engine,
    *,
    now: datetime,
    worker: str,
    limit: int,
    kinds: Iterable[str] | None = None,
    key: str | None = None,
    goal_id: str | None = None,
    max_attempts: int | None = None,
) -> list[Claimed]:
    """Take up to `limit` due queued jobs (of one goal, when given) for `worker`, each only once its
    goal's earlier effects are carried out; or the one with `key`, due and in order or not (a caller
    that names the job has decided). `max_attempts` is the worker's setting."""
    if limit <= 0:
        return []
    with transaction(engine) as session:
        query = select(Job).where(Job.status == "queued")
        if key is not None:
            query = query.where(Job.key == key)
        else:
            query = query.where(
                in_goal_order(), or_(col(Job.not_before).is_(None), col(Job.not_before) <= now)
            )
        if goal_id is not None:
            query = query.where(Job.goal_id == goal_id)
        if kinds is not None:
            query = query.where(col(Job.kind).in_(list(kinds)))
        rows = session.exec(query.order_by(col(Job.id)).limit(limit).with_for_update(skip_locked=True)).all()
        return [_take(session, job, now, worker, max_attempts) for job in rows]


def any_due(engine: Engine, *, now: datetime, kinds: Iterable[str] | None = None) -> bool:
    """Whether a queued job is due: a read that takes no write lock, so an idle worker's wake-up costs
    no transaction. `claim` decides again in its own."""
    query = select(Job.id).where(Job.status == "queued", in_goal_order())
    query = query.where(or_(col(Job.not_before).is_(None), col(Job.not_before) <= now))
    if kinds is not None:
        query = query.where(col(Job.kind).in_(list(kinds)))
    with read_session(engine) as session:
        return session.exec(query.limit(1)).first() is not None


def still_running(engine: Engine, *, run_ids: Iterable[str]) -> set[str]:
    """Which of these attempts are still running (a read: the heartbeat itself writes)."""
    ids = list(run_ids)
    if not ids:
        return set()
    with read_session(engine) as session:
        alive = session.exec(
            select(Job.run_id).where(col(Job.run_id).in_(ids), Job.status == "running")
        ).all()
    return {r for r in alive if r is not None}


def heartbeat(engine: Engine, *, run_ids: Iterable[str], now: datetime) -> set[str]:
    """Mark these attempts alive; return the run ids that are still running (the others were lost)."""
    ids = list(run_ids)
    if not ids:
        return set()
    with transaction(engine) as session:
        session.execute(
            update(Job).where(col(Job.run_id).in_(ids), col(Job.status) == "running").values(heartbeat_at=now)
        )
        alive = session.exec(
            select(Job.run_id).where(col(Job.run_id).in_(ids), Job.status == "running")
        ).all()
    return {r for r in alive if r is not None}


def _running(session: Session, job_id: int, run_id: str) -> Job | None:
    return session.exec(
        select(Job).where(Job.id == job_id, Job.run_id == run_id, Job.status == "running").with_for_update()
    ).first()


def succeed(engine: Engine, job: Claimed, *, now: datetime) -> bool:
    with transaction(engine) as session:
        row = _running(session, job.id, job.run_id)
        if row is None:
            return False
        row.status, row.finished_at, row.last_error = "succeeded", now, None
        session.add(row)
        _audit(session, row, "job.succeeded", now, attempt=row.attempts)
        return True


def fail(engine: Engine, job: Claimed, *, now: datetime, error: str, backoff: float) -> str | None:
    """Record a failed attempt: queued again after `backoff` seconds, or failed for good at the
    last attempt (the goal's thread is told). Returns the new status, or None if the job was lost."""
    with transaction(engine) as session:
        row = _running(session, job.id, job.run_id)
        if row is None:
            return None
        return _retry_or_fail(
            session, row, now=now, error=error, backoff=backoff, action="job.attempt_failed"
        )


def release(engine: Engine, job: Claimed, *, now: datetime) -> None:
    """Give a job back at shutdown: queued again at once, the interrupted attempt not counted."""
    with transaction(engine) as session:
        row = _running(session, job.id, job.run_id)
        if row is None:
            return
        row.status, row.run_id, row.worker, row.not_before = "queued", None, None, None
        row.attempts = max(0, row.attempts - 1)
        session.add(row)
        append_audit(
            session,
            actor="bot",
            action="job.released",
            at=now,
            goal_id=row.goal_id,
            phase=row.phase,
            run_id=job.run_id,
            payload={"job": row.id, "kind": row.kind},
        )


def _retry_or_fail(
    session: Session, row: Job, *, now: datetime, error: str, backoff: float, action: str
) -> str:
    row.last_error = redact(error)[:2000]
    run_id = row.run_id
    if row.attempts >= row.max_attempts:
        from bot.jobs import recovery  # local: recovery reads the goal, which imports services

        row.status, row.finished_at = "failed", now
        session.add(row)
        _audit(session, row, "job.failed", now, attempt=row.attempts, error=row.last_error)
        if recovery.on_failed(session, row, now):
            return "failed"  # the goal's thread has the message with Retry / Request changes / Cancel
        if row.goal_id:
            add_effect(
                session,
                key=f"note:{row.goal_id}:job-failed:{row.id}",
                goal_id=row.goal_id,
                now=now,
                payload=ThreadNote(
                    text=f"⚠️ {row.description or row.kind} failed after {row.attempts} attempts: "
                    f"{row.last_error[:300]}. An approver can cancel the goal, or ask for changes."
                ),
            )
        return "failed"
    row.status, row.run_id, row.worker = "queued", None, None
    row.not_before = now + timedelta(seconds=backoff)
    session.add(row)
    from bot.jobs import recovery

    recovery.on_attempt_failed(session, row, now, backoff)
    append_audit(
        session,
        actor="bot",
        action=action,
        at=now,
        goal_id=row.goal_id,
        phase=row.phase,
        run_id=run_id,
        payload={
            "job": row.id,
            "kind": row.kind,
            "attempt": row.attempts,
            "error": row.last_error,
            "retry_in_seconds": backoff,
        },
    )
    return "queued"


def requeue_expired(engine: Engine, *, now: datetime, lease: float, backoff: Any) -> list[int]:
    """Re-queue running jobs whose heartbeat is older than `lease` seconds (their worker died).

    `backoff(attempts)` gives the delay; a job out of attempts is marked failed instead.
    """
    cutoff = now - timedelta(seconds=lease)
    with transaction(engine) as session:
        rows = session.exec(
            select(Job)
            .where(Job.status == "running", col(Job.heartbeat_at) < cutoff)
            .order_by(col(Job.id))
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            _retry_or_fail(
                session,
                row,
                now=now,
                error="the worker stopped heartbeating (crashed or killed)",
                backoff=backoff(row.attempts),
                action="job.requeued",
            )
        return [int(r.id) for r in rows if r.id is not None]


def cancel_goal_jobs(session: Session, goal_id: str, now: datetime) -> int:
    """Cancel a goal's queued and running jobs in the caller's transaction; workers notice at their
    next heartbeat (or kick) and stop the running ones."""
    rows = Jobs(session).of_goal(goal_id, tuple(ACTIVE))
    for row in rows:
        row.status, row.finished_at = "cancelled", now
        session.add(row)
        _audit(session, row, "job.cancelled", now)
    return len(rows)


def goal_jobs(engine: Engine, goal_id: str) -> list[Job]:
    with read_session(engine) as session:
        return list(session.exec(select(Job).where(Job.goal_id == goal_id).order_by(col(Job.id))).all())
