"""The SLA sweep: remind approvers, escalate, warn before expiry, expire gates, report slow jobs.

`sweep(deps, now=…)` is called by the scheduler every minute and directly by tests with any
`now`. Each level is recorded once per goal, phase, task and artifact version (a unique row in
`reminders`), together with its audit entry and the messages to send, in one transaction; the
outbox sends the messages. Nobody is pinged in quiet hours: the levels wait for the next sweep
after them, except expiry, which happens on time (a gate must not stay approvable past its TTL)
and holds back only its messages.

The sweep runs every minute over gates almost none of which is due, so it reads them in one plain
query (no write lock): the business-time clocks become one cutoff per phase (`CutoffsAt`), only
gates opened before the latest cutoff are fetched, with the levels already recorded for them,
and a write transaction is opened only for a level that is due and not recorded yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.blocks.reminders import (
    ExpiryView,
    GateReminderView,
    build_expired_notice,
    build_expiry_warning,
    build_gate_reminder,
)
from bot.jobs.notify import add_notification, dm_each
from bot.jobs.sla_deps import SCHEDULER, SlaDeps, is_slack_user, record_level
from bot.jobs.sla_policy import CutoffsAt, DueCutoffs, describe_age, gate_clock
from bot.services.changes import apply_change, artifact_facts, goal_facts
from bot.services.unit import audit, load_goal_for_update
from bot.sop import gates
from bot.sop.effect_kinds import ChannelPost
from bot.sop.phases import LABELS, Phase
from storage.db import read_session, transaction
from storage.models import Artifact, Goal
from storage.repositories import Approvals, Artifacts, Reminders
from storage.repositories.open_gates import OpenGate, open_gates, recorded_keys

log = logging.getLogger(__name__)
_MARGIN = timedelta(seconds=1)


@dataclass
class SweepReport:
    reminded: list[str] = field(default_factory=list)  # "G-0001:prd:v1"
    escalated: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    overdue_jobs: list[int] = field(default_factory=list)
    held_for_quiet_hours: int = 0

    @property
    def sent(self) -> int:
        return (
            len(self.reminded)
            + len(self.escalated)
            + len(self.warned)
            + len(self.expired)
            + len(self.overdue_jobs)
        )


def pending_approvers(session: Session, goal: Goal, artifact: Artifact, deps: SlaDeps) -> list[str]:
    """Approvers who have not approved this version yet (never the requester, unless allowed)."""
    approved = Approvals(session).approvers_of(goal.id, artifact.sha256)
    return waiting_on(deps, approvers=goal.approvers, requester=goal.requester, approved=approved)


def waiting_on(deps: SlaDeps, *, approvers: list[str], requester: str, approved: set[str]) -> list[str]:
    """`pending_approvers` once the approvals of the version are known."""
    pool = list(approvers) or sorted(deps.directory.approvers())
    return [u for u in pool if u not in approved and (deps.allow_self_approval or u != requester)]


def _tag(goal: Goal, artifact: Artifact) -> str:
    return f"{goal.id}:{goal.phase}:{artifact.task_id}:v{artifact.version}"  # as gates.sla_tag


def _sla_text(deps: SlaDeps, phase: str) -> str:
    return f"{describe_age(deps.policy.for_phase(phase).approval_sla)} of business time"


def sweep(deps: SlaDeps, *, now: datetime) -> SweepReport:
    """One pass over every gate awaiting approval and every running job."""
    report = SweepReport()
    if not deps.policy.enabled:
        return report
    quiet = deps.policy.is_quiet(now)
    cutoffs = CutoffsAt(deps.policy, now)
    gates, recorded = _due_gates(deps, cutoffs.latest())
    for gate in gates:
        try:
            _sweep_gate(deps, gate, cutoffs.of(gate.phase), now, quiet, report, recorded)
        except IntegrityError:  # another sweep recorded the same level first: nothing to do
            log.info("a reminder for %s was recorded concurrently", gate.goal_id)
    if quiet:
        return report
    from bot.jobs.overdue import sweep_jobs  # local: it builds on this module's helpers

    report.overdue_jobs = sweep_jobs(deps, now)
    return report


def _due_gates(deps: SlaDeps, opened_by: datetime | None) -> tuple[list[OpenGate], set[str]]:
    """The gates that may have a level due (a plain read, no write lock) and the SLA levels
    already recorded for them. Only those gates ever open a write transaction."""
    if opened_by is not None:
        opened_by += _MARGIN  # the exact test is done in Python; the query only needs to keep every due gate
    with read_session(deps.engine) as session:
        gates = open_gates(session, opened_by=opened_by)
        return gates, recorded_keys(session, gates, prefix="sla:")


def _levels_due(
    deps: SlaDeps, gate: OpenGate, cut: DueCutoffs | None, now: datetime
) -> tuple[bool, list[str], datetime]:
    """Whether the gate has expired, the levels due otherwise, and when it expires."""
    if cut is None:  # business hours with no time at all: gate_clock raises and says so
        clock = gate_clock(deps.policy, gate.phase, gate.since)
        at = {"reminder": clock.reminder_at, "escalation": clock.escalation_at, "warning": clock.warning_at}
        due = [level for level, when in at.items() if now >= when]
        return now >= clock.expires_at, due, clock.expires_at
    expires = gate.since + deps.policy.for_phase(gate.phase).approval_ttl
    if gate.since <= cut.expiry:
        return True, [], expires
    due = [
        level
        for level, cutoff in (
            ("reminder", cut.reminder),
            ("escalation", cut.escalation),
            ("warning", cut.warning),
        )
        if gate.since <= cutoff
    ]
    return False, due, expires


def _sweep_gate(
    deps: SlaDeps,
    gate: OpenGate,
    cut: DueCutoffs | None,
    now: datetime,
    quiet: bool,
    report: SweepReport,
    recorded: set[str],
) -> None:
    expired, due, expires = _levels_due(deps, gate, cut, now)
    if expired:
        if _expire(deps, gate.goal_id, gate.artifact_id, now):
            report.expired.append(gate.tag)
        return
    if due and quiet:
        report.held_for_quiet_hours += 1
        return
    for level in due:
        if f"sla:{level}:{gate.tag}" in recorded:  # sent by an earlier sweep
            continue
        if _send_level(deps, gate.goal_id, gate.artifact_id, level, now, since=gate.since, expires=expires):
            {"reminder": report.reminded, "escalation": report.escalated, "warning": report.warned}[
                level
            ].append(gate.tag)


def _locked_gate(session: Session, goal_id: str, artifact_id: int | None) -> tuple[Goal, Artifact] | None:
    """The goal (row-locked) and its artifact, if that artifact still awaits a decision."""
    goal = load_goal_for_update(session, goal_id)
    if goal is None:
        return None
    artifact = Artifacts(session).current(goal)
    if not gates.gate_open(goal_facts(goal), artifact_facts(artifact), artifact_id):
        return None
    assert artifact is not None
    return goal, artifact


def _send_level(
    deps: SlaDeps,
    goal_id: str,
    artifact_id: int | None,
    level: str,
    now: datetime,
    *,
    since: datetime,
    expires: datetime,
) -> bool:
    with transaction(deps.engine) as session:
        found = _locked_gate(session, goal_id, artifact_id)
        if found is None:
            return False
        goal, artifact = found
        key = f"sla:{level}:{_tag(goal, artifact)}"
        if Reminders(session).exists(key):
            return False
        label = LABELS[Phase(goal.phase)]
        age = describe_age(now - since)
        waiting = pending_approvers(session, goal, artifact, deps)
        view = GateReminderView(
            goal_id=goal.id,
            title=goal.title,
            phase=Phase(goal.phase),
            phase_label=label,
            version=artifact.version,
            sha256=artifact.sha256,
            requester=goal.requester,
            age=age,
            sla=_sla_text(deps, goal.phase),
            channel_id=goal.channel_id,
            task_id=artifact.task_id or None,
            waiting_on=waiting,
        )
        if level == "reminder":
            to = [u for u in waiting if is_slack_user(u)]
            blocks, text = build_gate_reminder(view, "reminder")
            dm_each(session, key=key, goal_id=goal.id, now=now, users=to, blocks=blocks, text=text)
            action = "sla.reminded"
        elif level == "escalation":
            backups = [u for u in deps.policy.backup_approvers if is_slack_user(u)]
            blocks, text = build_gate_reminder(view, "escalation")
            if backups:
                to = backups
                dm_each(session, key=key, goal_id=goal.id, now=now, users=backups, blocks=blocks, text=text)
            elif goal.channel_id and goal.thread_ts:
                to = [goal.channel_id]
                add_notification(
                    session,
                    key=f"notify:{key}:channel",
                    goal_id=goal.id,
                    now=now,
                    payload=ChannelPost(
                        channel=goal.channel_id,
                        thread_ts=goal.thread_ts,
                        broadcast=True,
                        blocks=blocks,
                        text=text,
                    ),
                )
            else:
                to = []
            action = "sla.escalated"
        else:
            to = [goal.requester] if is_slack_user(goal.requester) else []
            warning = ExpiryView(
                goal_id=goal.id,
                title=goal.title,
                phase=Phase(goal.phase),
                phase_label=label,
                version=artifact.version,
                age=age,
                expires_in=describe_age(expires - now),
            )
            blocks, text = build_expiry_warning(warning)
            dm_each(session, key=key, goal_id=goal.id, now=now, users=to, blocks=blocks, text=text)
            action = "sla.expiry_warned"
        record_level(session, key, level, goal, artifact, to, now)
        audit(
            session,
            actor=SCHEDULER,
            action=action,
            now=now,
            goal=goal,
            sha=artifact.sha256,
            version=artifact.version,
            task_id=artifact.task_id or None,
            to=to,
            age=age,
            waiting_on=waiting,
        )
    return True


def _expire(deps: SlaDeps, goal_id: str, artifact_id: int | None, now: datetime) -> bool:
    """The TTL has run out: the gate becomes `expired` (never approved); the requester is told.

    The rule is `bot.sop.gates.expire`; this loads the gate, writes what it returns, and renders the
    requester's DM (held, like the thread note, until quiet hours end)."""
    with transaction(deps.engine) as session:
        found = _locked_gate(session, goal_id, artifact_id)
        if found is None:
            return False
        goal, artifact = found
        facts, current = goal_facts(goal), artifact_facts(artifact)
        assert current is not None
        key = f"sla:expired:{gates.sla_tag(facts, current)}"
        if Reminders(session).exists(key):
            return False
        later = deps.policy.quiet_until(now)
        age = describe_age(now - artifact.created_at)
        change = gates.expire(facts, current, now=now, age=age, notes_not_before=later)
        apply_change(session, goal, change, actor=SCHEDULER, now=now)
        notice = ExpiryView(
            goal_id=goal.id,
            title=goal.title,
            phase=Phase(goal.phase),
            phase_label=LABELS[Phase(goal.phase)],
            version=artifact.version,
            age=age,
            task_id=artifact.task_id or None,
        )
        blocks, text = build_expired_notice(notice)
        to = list(change.level.recipients) if change.level else []
        dm_each(
            session, key=key, goal_id=goal.id, now=now, users=to, blocks=blocks, text=text, not_before=later
        )
    return True
