"""Agent jobs past their runtime SLA: the requester gets one DM saying what the job is doing.

The DM carries a Cancel button (handlers/actions/reminders.py), which cancels the goal and so its
jobs. One notice per job run (`job:overdue:<job>:<run>`), never in quiet hours, always audited.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.blocks.reminders import OverdueJobView, build_overdue_job
from bot.blocks.text import local_time
from bot.jobs.notify import dm_each
from bot.jobs.sla_deps import SCHEDULER, SlaDeps, is_slack_user, record_level
from bot.jobs.sla_policy import describe_age
from bot.services.unit import audit
from storage.db import read_session, transaction
from storage.repositories import AgentRuns, Goals, Jobs
from storage.sessions import IntegrityError, Session

log = logging.getLogger(__name__)


def sweep_jobs(deps: SlaDeps, now: datetime) -> list[int]:
    """Notify about every running job past its runtime SLA (not yet notified); their ids."""
    sent = []
    for job_id in _overdue_jobs(deps, now):
        try:
            if _job_overdue(deps, job_id, now):
                sent.append(job_id)
        except IntegrityError:  # a concurrent sweep recorded it first
            log.info("the overdue notice for job %s was recorded concurrently", job_id)
    return sent


def _overdue_jobs(deps: SlaDeps, now: datetime) -> list[int]:
    with read_session(deps.engine) as session:
        rows = Jobs(session).running()
    overdue = []
    for job in rows:
        runtime = deps.policy.for_phase(job.phase or "").job_runtime
        if job.started_at is not None and job.id is not None and now - job.started_at >= runtime:
            overdue.append(job.id)
    return overdue


def _job_overdue(deps: SlaDeps, job_id: int, now: datetime) -> bool:
    with transaction(deps.engine) as session:
        job = Jobs(session).running_for_update(job_id)
        if job is None or job.id is None or job.goal_id is None or job.started_at is None:
            return False
        goal = Goals(session).get(job.goal_id)
        if goal is None:
            return False
        key = f"job:overdue:{job.id}:{job.run_id}"
        to = [goal.requester] if is_slack_user(goal.requester) else []
        if not record_level(session, key, "job_overdue", goal, None, to, now):
            return False
        runtime = deps.policy.for_phase(job.phase or "").job_runtime
        view = OverdueJobView(
            job_id=job.id,
            goal_id=goal.id,
            title=goal.title,
            doing=(job.description or job.kind) + _agent_run_note(session, goal.id),
            running_for=describe_age(now - job.started_at),
            runtime_sla=describe_age(runtime),
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            run_id=job.run_id or "-",
            worker=job.worker or "-",
            last_heartbeat=local_time(job.heartbeat_at or job.started_at, deps.policy.timezone),
        )
        blocks, text = build_overdue_job(view)
        dm_each(session, key=key, goal_id=goal.id, now=now, users=to, blocks=blocks, text=text)
        audit(
            session,
            actor=SCHEDULER,
            action="job.overdue",
            now=now,
            goal=goal,
            run_id=job.run_id,
            job=job.id,
            kind=job.kind,
            doing=job.description,
            running_for=view.running_for,
            to=to,
        )
    return True


def _agent_run_note(session: Session, goal_id: str) -> str:
    """What the goal's live agent run (if any) is at, from its run record."""
    run = AgentRuns(session).live_of_goal(goal_id=goal_id)
    if run is None:
        return ""
    waiting = f", waiting on {run.pending_tool}" if run.pending_tool else ""
    return f" (agent run {run.id}: {run.role}, {run.status}{waiting})"
