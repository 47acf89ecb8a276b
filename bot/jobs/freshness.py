"""Freshness reminders: approved artifacts go stale `max_age` after their last review.

`lead` before that (7 days by default) the scheduler tells the goal's thread and DMs its approvers
once per review cycle ("PRD v2 of G-0001 goes stale on 24 Dec — Re-approve unchanged / Request
changes"); a re-review starts a new cycle. Nobody is pinged in quiet hours: a due reminder waits
for the first sweep after them. `/orch review <goal-id>` sends the same message at any time, and
the digest lists what goes stale within the week. Times are instants (UTC) throughout; only the
date shown is local, so a daylight-saving change moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.blocks.freshness import FreshnessView, build_freshness_reminder
from bot.jobs.notify import add_notification, dm_each
from bot.jobs.sla import SlaDeps, is_slack_user
from bot.services.errors import GoalNotFound, InvalidInput
from bot.services.state_of_record import artifact_records, goal_record
from bot.services.unit import Actor, audit
from bot.sop.effect_kinds import ChannelPost
from bot.sop.phases import LABELS, GoalState, Phase
from bot.sop.records import ArtifactRecord
from storage.db import read_session, transaction
from storage.jobs_models import Reminder
from storage.models import Goal
from storage.repositories import Goals, Reminders
from storage.sessions import Session

SCHEDULER = Actor("scheduler")


@dataclass(frozen=True)
class DueReview:
    goal_id: str
    title: str
    phase: str
    version: int
    sha256: str
    last_review: datetime
    stale_at: datetime

    @property
    def label(self) -> str:
        return f"{LABELS[Phase(self.phase)]} v{self.version}"


@dataclass
class FreshnessReport:
    reminded: list[str] = field(default_factory=list)  # "G-0001:prd:v2"
    held_for_quiet_hours: int = 0


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reviews_of(session: Session, goal: Goal, max_age: timedelta) -> list[DueReview]:
    """The goal's approved artifacts (latest version per phase) with the moment each goes stale."""
    return _reviews(goal, goal_record(session, goal).artifacts, max_age)


def _reviews(goal: Goal, artifacts: Iterable[ArtifactRecord], max_age: timedelta) -> list[DueReview]:
    return [
        DueReview(
            goal_id=goal.id,
            title=goal.title,
            phase=a.phase,
            version=a.version,
            sha256=a.sha256,
            last_review=_utc(a.last_review),
            stale_at=_utc(a.last_review) + max_age,
        )
        for a in artifacts
        if a.approved_sha256 == a.sha256 and a.last_review is not None
    ]


def going_stale(
    session: Session,
    *,
    now: datetime,
    max_age: timedelta,
    within: timedelta,
    goals: Sequence[Goal] | None = None,
) -> list[DueReview]:
    """Approved artifacts of active goals (all, or of `goals`) that go stale before `now + within`
    (or already have). Their records are read together: three queries, not three per goal."""
    if goals is None:
        goals = Goals(session).in_state(state=GoalState.ACTIVE.value)
    else:
        goals = [g for g in goals if g.state == GoalState.ACTIVE]
    records = artifact_records(session, [g.id for g in goals])
    due = [r for g in goals for r in _reviews(g, records[g.id], max_age) if r.stale_at <= now + within]
    return sorted(due, key=lambda r: (r.stale_at, r.goal_id, r.phase))


def stale_day(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b}"


def _approvers(deps: SlaDeps, goal: Goal) -> list[str]:
    pool = list(goal.approvers) or sorted(deps.directory.approvers())
    return [u for u in pool if deps.allow_self_approval or u != goal.requester]


def _notify(
    session: Session,
    deps: SlaDeps,
    goal: Goal,
    due: DueReview,
    key: str,
    now: datetime,
    asked_by: str | None,
) -> list[str]:
    approvers = _approvers(deps, goal)
    view = FreshnessView(
        goal_id=goal.id,
        title=goal.title,
        phase=Phase(due.phase),
        phase_label=LABELS[Phase(due.phase)],
        version=due.version,
        sha256=due.sha256,
        stale_on=stale_day(due.stale_at, deps.policy.tz),
        approvers=tuple(approvers),
        asked_by=asked_by,
    )
    blocks, text = build_freshness_reminder(view)
    to = [u for u in approvers if is_slack_user(u)]
    if goal.channel_id and goal.thread_ts:
        add_notification(
            session,
            key=f"notify:{key}:thread",
            goal_id=goal.id,
            now=now,
            payload=ChannelPost(channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text),
        )
    # A DM asked for in quiet hours (`/orch review`) waits for their end, like every other DM.
    later = deps.policy.quiet_until(now) if deps.policy.is_quiet(now) else None
    dm_each(session, key=key, goal_id=goal.id, now=now, users=to, blocks=blocks, text=text, not_before=later)
    return to


def sweep_freshness(deps: SlaDeps, *, now: datetime, max_age: timedelta, lead: timedelta) -> FreshnessReport:
    """Remind once per review cycle, `lead` before an approved artifact goes stale."""
    report = FreshnessReport()
    if lead <= timedelta(0):
        return report
    with read_session(deps.engine) as session:
        due = going_stale(session, now=now, max_age=max_age, within=lead)
        if not due:
            return report
        keys = {f"fresh:{d.goal_id}:{d.phase}:v{d.version}:{d.last_review.isoformat()}" for d in due}
        sent = Reminders(session).recorded(keys=keys)
    due = [
        d for d in due if f"fresh:{d.goal_id}:{d.phase}:v{d.version}:{d.last_review.isoformat()}" not in sent
    ]
    if due and deps.policy.is_quiet(now):
        report.held_for_quiet_hours = len(due)
        return report
    for d in due:
        key = f"fresh:{d.goal_id}:{d.phase}:v{d.version}:{d.last_review.isoformat()}"
        with transaction(deps.engine) as session:
            goal = Goals(session).get(d.goal_id)
            if goal is None or goal.state != GoalState.ACTIVE.value:
                continue
            if Reminders(session).exists(key):
                continue
            to = _notify(session, deps, goal, d, key, now, None)
            session.add(
                Reminder(
                    key=key,
                    level="freshness",
                    goal_id=goal.id,
                    phase=d.phase,
                    version=d.version,
                    recipients=to,
                    sent_at=now,
                )
            )
            audit(
                session,
                actor=SCHEDULER,
                action="freshness.reminded",
                now=now,
                goal=goal,
                phase=d.phase,
                sha=d.sha256,
                version=d.version,
                stale_at=d.stale_at.isoformat(),
                to=to,
            )
        report.reminded.append(f"{d.goal_id}:{d.phase}:v{d.version}")
    return report


def ask_review(
    deps: SlaDeps, *, goal_id: str, actor: Actor, now: datetime, max_age: timedelta
) -> list[DueReview]:
    """`/orch review <goal-id>`: ask the approvers for a re-review of every approved artifact now."""
    with transaction(deps.engine) as session:
        goal = Goals(session).get(goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if goal.state != GoalState.ACTIVE.value:
            raise InvalidInput(f"{goal.id} is {goal.state}: only an active goal's artifacts are re-reviewed")
        due = reviews_of(session, goal, max_age)
        if not due:
            raise InvalidInput(f"{goal.id} has no approved artifact to re-review yet")
        for d in due:
            key = f"review:{d.goal_id}:{d.phase}:v{d.version}:{now.isoformat()}"
            to = _notify(session, deps, goal, d, key, now, actor.id)
            audit(
                session,
                actor=actor,
                action="review.requested",
                now=now,
                goal=goal,
                phase=d.phase,
                sha=d.sha256,
                version=d.version,
                to=to,
            )
    return due
