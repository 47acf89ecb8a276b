"""Data for a person's App Home: approvals waiting for them (with age and SLA), their goals by phase,
and recent activity on what concerns them. The builder caps each list, so the tab stays far below
Slack's 100 blocks however busy the team is.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.blocks.view_models import HomeView, PendingApproval
from bot.services.gates import gates_of
from bot.sop.phases import LABELS, GoalState, Phase, PhaseStatus
from storage.db import read_session
from storage.repositories import AuditReads, Goals

if TYPE_CHECKING:
    from bot.deps import Deps as Container

MAX_WAITING = 50
MAX_MINE = 30
MAX_RECENT = 10


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _due(container: Container, phase: str, since: datetime) -> datetime:
    return container.approval_due(phase, since)


def sla_text(due: datetime, now: datetime) -> str:
    left = (due - now).total_seconds()
    return f"SLA due in {duration(left)}" if left >= 0 else f"⚠️ SLA overdue by {duration(-left)}"


def home_view(*, container: Container, user: str) -> HomeView:
    settings = container.settings
    now = container.clock()
    is_approver = container.directory.is_approver_anywhere(user)
    with read_session(container.engine) as session:
        pending: list[PendingApproval] = []
        if is_approver:
            waiting = Goals(session).with_status(
                state=GoalState.ACTIVE, status=PhaseStatus.AWAITING_APPROVAL, limit=MAX_WAITING
            )
            gates = gates_of(
                session,
                waiting,
                approvers=[user],
                allow_self_approval=settings.allow_self_approval,
                sla_hours=settings.approval_sla_hours,
                due_at=lambda phase, since: _due(container, phase, since),
            )
            for goal in waiting:
                if not container.directory.is_approver(user, repo=goal.repo):
                    continue  # another repository's approvers decide it
                current = gates[goal.id]
                if user not in current.waiting_on or current.artifact is None or current.sla_due is None:
                    continue  # theirs to wait on, or already approved by them
                age = f"waiting {duration((now - current.artifact.created_at).total_seconds())}"
                label = LABELS[Phase(goal.phase)] + (
                    f" · task {current.artifact.task_id}" if current.artifact.task_id else ""
                )
                pending.append(
                    (
                        goal.id,
                        goal.title,
                        f"{label} v{current.artifact.version}",
                        age,
                        sla_text(current.sla_due, now),
                        None,
                    )
                )
        mine = Goals(session).of_requester(requester=user, limit=MAX_MINE)
        related = [g.id for g in mine] + [p[0] for p in pending]
        recent = AuditReads(session).recent_for(actor=user, goal_ids=related, limit=MAX_RECENT)
    tz = settings.tz
    from bot.services.effects import effects_service

    mine_ids = {g.id for g in mine}
    attention = [
        (
            a.goal_id,
            (f"{a.failed} failed step(s)" if a.failed else f"{a.waiting} step(s) retrying for a while")
            + f": {a.first_error[:120]} — Retry in its thread, or `/orch retry {a.goal_id}`",
        )
        for a in effects_service(container).needing_attention()
        if is_approver or a.goal_id in mine_ids
    ]
    return HomeView(
        user=user,
        pending_approvals=pending,
        my_goals=[
            (
                g.id,
                g.title,
                LABELS[Phase(g.phase)],
                (g.state if g.state != GoalState.ACTIVE else g.status).replace("_", " "),
            )
            for g in mine
        ],
        recent=[
            f"{e.at.astimezone(tz):%b %d %H:%M} · {e.goal_id or '—'} · {e.action.replace('.', ' ')} · {e.actor}"
            for e in recent
        ],
        attention=attention,
    )
