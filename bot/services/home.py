"""Data for a person's App Home."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.blocks.models import HomeView
from bot.sop.phases import LABELS, GoalState, Phase, PhaseStatus
from storage.audit import AuditEntry
from storage.models import Goal

if TYPE_CHECKING:
    from bot.app import Container


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def home_view(*, container: Container, user: str) -> HomeView:
    now = container.clock()
    is_approver = container.directory.is_approver(user)
    with Session(container.engine) as session:
        waiting = list(
            session.exec(
                select(Goal)
                .where(Goal.state == GoalState.ACTIVE, Goal.status == PhaseStatus.AWAITING_APPROVAL)
                .order_by(col(Goal.updated_at))
                .limit(50)
            ).all()
        )
        mine = list(
            session.exec(select(Goal).where(Goal.requester == user).order_by(col(Goal.updated_at).desc()).limit(30))
        )
        recent = list(
            session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(10)).all()
        )
    pending = []
    if is_approver:
        for goal in waiting:
            if goal.requester == user and not container.settings.allow_self_approval:
                continue
            age = (now - goal.updated_at).total_seconds()
            pending.append((goal.id, goal.title, LABELS[Phase(goal.phase)], _age(age), "", None))
    return HomeView(
        user=user,
        pending_approvals=pending,
        my_goals=[(g.id, g.title, LABELS[Phase(g.phase)], g.state if g.state != "active" else g.status)
                  for g in mine],
        recent=[f"{e.at:%Y-%m-%d %H:%M} {e.goal_id or ''} {e.action} by {e.actor}" for e in recent],
    )
