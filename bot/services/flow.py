"""Moving a goal on outside a gate decision: enter a phase once the last merge has landed.

The rule is `bot.sop.gates.enter` (a gate's approval runs it through `gates.decide`, a person's
Mini-Spec decision through `gates.set_spec`); this helper loads its facts and writes what it
returns into the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.services.changes import apply_change, goal_facts, phase_facts
from bot.services.unit import Actor
from bot.sop import gates
from bot.sop.outcomes import Builder
from bot.sop.phases import Phase
from storage.models import Goal
from storage.sessions import Session

if TYPE_CHECKING:
    from bot.services.goal_port import GoalsPort as GoalService


def enter_phase(
    service: GoalService, session: Session, goal: Goal, nxt: Phase, now: datetime, actor: Actor, tag: str
) -> str:
    """Move the goal into `nxt` outside a gate approval, in the caller's transaction."""
    b = Builder(goal_facts(goal))
    entered = gates.enter(b, nxt, now=now, tag=tag, history=phase_facts(session, goal))
    apply_change(session, goal, b.change(), actor=actor, now=now)
    return entered
