"""Moving a goal on outside a gate decision: enter a phase (a person changed the Mini-Spec
decision, or the last merge landed) and say why the Mini-Spec is skipped.

The rules themselves are in `bot.sop.gates` (`enter`, `skip_spec`; a gate's approval runs them
through `gates.decide`); these helpers load their facts and write what they return into the
caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.services.changes import apply_change, goal_facts, phase_facts
from bot.services.unit import Actor
from bot.sop import gates
from bot.sop.outcomes import Builder
from bot.sop.phases import Phase
from storage.models import Goal

if TYPE_CHECKING:
    from bot.services.goals import GoalService


def record_spec_skip(session: Session, goal: Goal, now: datetime) -> None:
    """Audit (and tell the thread) why the Mini-Spec is skipped: a person's waiver or no trigger."""
    b = Builder(goal_facts(goal))
    gates.skip_spec(b)
    apply_change(session, goal, b.change(), actor=Actor("bot"), now=now)


def enter_phase(
    service: GoalService, session: Session, goal: Goal, nxt: Phase, now: datetime, actor: Actor, tag: str
) -> str:
    """Move the goal into `nxt` outside a gate approval, in the caller's transaction."""
    b = Builder(goal_facts(goal))
    entered = gates.enter(b, nxt, now=now, tag=tag, history=phase_facts(session, goal))
    apply_change(session, goal, b.change(), actor=actor, now=now)
    return entered
