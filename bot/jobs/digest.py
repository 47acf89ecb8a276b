"""The daily digest: what to say about a channel, when it is due, and posting it exactly once a day.

The scheduler fires at each configured local time (a cron trigger in ORCH_TIMEZONE) and calls
`post_due_digests(now=…)`; tests call it directly with any `now`. A scheduled digest is keyed by
channel and local date, so a re-run, a catch-up after downtime or a second scheduler can never
post it twice. `/orch digest` posts one on demand without touching that schedule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.blocks.digest import DigestView, DoneLine, JobLine, WaitingLine, build_digest
from bot.blocks.text import mention
from bot.jobs.config import DigestConfig
from bot.jobs.freshness import going_stale, stale_day
from bot.jobs.notify import add_notification
from bot.jobs.sla import SlaDeps, waiting_on
from bot.jobs.sla_policy import CutoffsAt, describe_age, local_instant, parse_minute_of_day
from bot.services.unit import Actor, audit
from bot.sop.effect_kinds import ChannelPost
from bot.sop.phases import LABELS, ORDER, GoalState, Phase
from storage.db import read_session, transaction
from storage.repositories.digests import Digests
from storage.repositories.open_gates import approvals_of, open_gates
from storage.sessions import Engine, IntegrityError, Session

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Digest:
    channel: str
    blocks: list[dict[str, object]]
    file_text: str | None
    text: str
    view: DigestView


def _since(session: Session, channel: str, now: datetime) -> datetime:
    last = Digests(session).last_scheduled(channel=channel)
    return last if last is not None and last < now else now - timedelta(days=1)


def gather(deps: SlaDeps, *, channel: str, now: datetime) -> Digest:
    """Everything the digest says about `channel` at `now`, built into blocks."""
    tz = deps.policy.tz
    with read_session(deps.engine) as session:
        since = _since(session, channel, now)
        goals = Digests(session).goals_of(channel=channel)
        active = [g for g in goals if g.state == GoalState.ACTIVE]
        counts = {p: sum(1 for g in active if g.phase == p.value) for p in ORDER}
        by_phase = [(LABELS[p], n) for p, n in counts.items() if n]
        # Every open gate of the channel with its current artifact and its approvals: two queries.
        by_id = {g.id: g for g in active}
        gates = [gate for gate in open_gates(session, channel=channel) if gate.goal_id in by_id]
        approved = approvals_of(session, gates)
        cutoffs = CutoffsAt(deps.policy, now)
        waiting = [
            WaitingLine(
                goal_id=gate.goal_id,
                title=by_id[gate.goal_id].title,
                phase_label=LABELS[Phase(gate.phase)],
                version=gate.version,
                age=describe_age(now - gate.since),
                waiting_on=waiting_on(
                    deps,
                    approvers=by_id[gate.goal_id].approvers,
                    requester=by_id[gate.goal_id].requester,
                    approved=approved.get((gate.goal_id, gate.sha256), set()),
                ),
                overdue=cutoffs.reminder_due(gate.phase, gate.since),
            )
            for gate in gates
        ]
        jobs = Digests(session).jobs_of(channel=channel, statuses=("running", "failed")) if goals else []
        job_lines = [
            JobLine(
                goal_id=j.goal_id or "-",
                doing=j.description or j.kind,
                state=j.status,
                detail=(
                    f"running for {describe_age(now - j.started_at)}"
                    if j.status == "running" and j.started_at
                    else f"failed: {(j.last_error or 'unknown error')[:100]}"
                ),
            )
            for j in jobs
            if j.status == "running" or (j.finished_at is not None and j.finished_at >= since)
        ]
        titles = {g.id: g.title for g in goals}
        completed = [
            DoneLine(goal_id=g.id, title=g.title, what="🎉 done")
            for g in goals
            if g.state == GoalState.DONE and g.updated_at >= since
        ]
        approvals = Digests(session).approvals_since(channel=channel, since=since) if goals else []
        completed += [
            DoneLine(
                goal_id=a.goal_id,
                title=titles.get(a.goal_id, ""),
                what=f"{LABELS[Phase(a.phase)]} v{a.artifact_version} approved by {mention(a.by)}",
            )
            for a in approvals
        ]
        stale = [
            f"*{d.goal_id}* {d.label} goes stale on {stale_day(d.stale_at, tz)} — re-review it (`/orch review {d.goal_id}`)"
            for d in going_stale(session, now=now, max_age=deps.freshness_max_age, within=WEEK, goals=active)
        ]
    local = now.astimezone(tz)
    from bot.observability.metrics_report import digest_metrics_lines
    from bot.observability.usage import sum_usage, usage_summary_line

    week = sum_usage(deps.runs_dir, deps.prices, since=now - WEEK)
    used = [usage_summary_line(week)] if week.runs else []  # said once some model was used
    view = DigestView(
        channel_id=channel,
        day_label=f"{local:%A} {local.day} {local:%B %Y}",
        since_label=f"since {since.astimezone(tz):%a %d %b %H:%M} {since.astimezone(tz).tzname()}",
        by_phase=by_phase,
        waiting=waiting,
        jobs=job_lines,
        completed=completed,
        going_stale=stale,
        metrics=digest_metrics_lines(deps.engine, runs_dir=deps.runs_dir, now=now) + used,
    )
    blocks, file_text, text = build_digest(view)
    return Digest(channel=channel, blocks=blocks, file_text=file_text, text=text, view=view)


def digest_channels(engine: Engine, config: DigestConfig) -> list[str]:
    """The configured channels, or every channel that has goals."""
    if config.channels:
        return list(config.channels)
    with read_session(engine) as session:
        return Digests(session).channels()


def due_slot(config: DigestConfig, channel: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The scheduled instant this digest belongs to, if it is due now (within the catch-up window)."""
    minute = parse_minute_of_day(config.time_for(channel))
    today = now.astimezone(tz).date()
    slot = local_instant(today, minute, tz)
    if slot > now:
        slot = local_instant(today - timedelta(days=1), minute, tz)
    if now - slot > timedelta(hours=config.catch_up_hours):
        return None
    return slot


def record_digest(
    deps: SlaDeps, digest: Digest, *, now: datetime, actor: Actor, key: str, kind: str, local_date: str | None
) -> bool:
    """Record the digest, its audit entry and its post in one transaction; False if already posted."""
    try:
        with transaction(deps.engine) as session:
            digests = Digests(session)
            if digests.posted(key):
                return False
            digests.add(key=key, channel=digest.channel, kind=kind, local_date=local_date, now=now)
            v = digest.view
            audit(
                session,
                actor=actor,
                action="digest.posted",
                now=now,
                channel=digest.channel,
                kind=kind,
                local_date=local_date,
                active=v.active,
                waiting=len(v.waiting),
                overdue=len(v.overdue),
                jobs=len(v.jobs),
                completed=len(v.completed),
                attached=digest.file_text is not None,
            )
            add_notification(
                session,
                key=f"notify:{key}",
                goal_id=None,
                now=now,
                payload=ChannelPost(
                    channel=digest.channel,
                    blocks=digest.blocks,
                    text=digest.text,
                    file_text=digest.file_text,
                    filename=f"digest-{local_date or now.date()}.md",
                    file_title=f"Daily digest · {v.day_label} (full)",
                ),
            )
    except IntegrityError:  # a concurrent run recorded it first
        return False
    return True


def post_due_digests(deps: SlaDeps, config: DigestConfig, *, now: datetime) -> list[str]:
    """Post every scheduled digest that is due and not yet posted; returns their channels."""
    if not config.enabled:
        return []
    posted = []
    for channel in digest_channels(deps.engine, config):
        slot = due_slot(config, channel, now, deps.policy.tz)
        if slot is None:
            continue
        local_date = slot.date().isoformat()
        key = f"digest:{channel}:{local_date}"
        with read_session(deps.engine) as session:
            if Digests(session).posted(key):
                continue
        digest = gather(deps, channel=channel, now=now)
        if record_digest(
            deps, digest, now=now, actor=Actor("scheduler"), key=key, kind="scheduled", local_date=local_date
        ):
            posted.append(channel)
    return posted


def post_digest_now(deps: SlaDeps, *, channel: str, now: datetime, actor: Actor) -> Digest:
    """`/orch digest`: post the digest of `channel` now (it does not count as the scheduled one)."""
    digest = gather(deps, channel=channel, now=now)
    record_digest(
        deps,
        digest,
        now=now,
        actor=actor,
        key=f"digest:{channel}:manual:{uuid.uuid4().hex}",
        kind="manual",
        local_date=None,
    )
    return digest
