"""A goal's budget: what its model usage may cost before its agent work pauses for an approver.

Cost is the goal's token usage over its run records, priced from the table in `orch.toml`
(bot/observability/usage.py). The budget is the goal's own (`/orch start --budget 5 …`, or raised since) or the
default `goal_budget`; none means no cap. At `budget_warn_ratio` of it (80% by default) the thread
is warned once; at 100% the goal's agent work pauses: a running Codex turn is interrupted, a draft
or build about to start is held (`hold`), and the thread asks an approver to raise the budget or
stop the goal (buttons, audited). An approver's raise runs the held work again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.observability.usage import GoalUsage, Tokens, cost, goal_usage
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput
from bot.services.unit import Actor, add_effect, audit, load_goal_for_update
from bot.sop.effect_kinds import BudgetReached, ThreadNote, parse
from bot.sop.phases import GoalState
from storage.audit import AuditEntry
from storage.db import read_session, transaction
from storage.models import Goal
from storage.repositories import AuditReads, Goals

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.goals import GoalService
    from storage.sessions import Session

WARNED = "budget.warned"
PAUSED = "budget.paused"
RAISED = "budget.raised"
BUDGET_STOP = "budget"  # who stopped a Codex turn the budget cut short (bot/agents/implement.py)
EFFECT_KIND = BudgetReached.KIND  # the thread message asking an approver to raise the budget or stop
MAX_BUDGET = 100_000.0


def parse_budget(text: str) -> float:
    """A budget in US dollars from what a person typed ("5", "$12.50"); InvalidInput otherwise."""
    raw = text.strip().removeprefix("$").replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(
            f"A budget is an amount in US dollars, like `5` or `12.50`, not `{text[:40]}`."
        ) from None
    if not math.isfinite(value) or value <= 0 or value > MAX_BUDGET:
        raise InvalidInput(f"A budget must be more than $0 and at most ${MAX_BUDGET:,.0f}.")
    return round(value, 4)


def budget_of(goal: Goal, settings: Settings) -> float | None:
    return goal.budget_usd if goal.budget_usd is not None else settings.goal_budget


def spent(settings: Settings, goal_id: str) -> GoalUsage:
    from bot.observability.runs import runs_dir_for

    return goal_usage(runs_dir_for(settings), goal_id, dict(settings.prices))


def money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


@dataclass(frozen=True)
class Standing:
    """Where a goal stands against its budget."""

    goal_id: str
    cost: float
    budget: float | None

    @property
    def share(self) -> float:
        return self.cost / self.budget if self.budget else 0.0

    @property
    def over(self) -> bool:
        return self.budget is not None and self.cost >= self.budget

    def line(self) -> str:
        if self.budget is None:
            return f"{money(self.cost)} spent (no budget)"
        return f"{money(self.cost)} of its {money(self.budget)} budget ({self.share:.0%})"


def cost_line(settings: Settings, goal: Goal) -> str | None:
    """ "$0.42 of its $5.00 budget (8%)" for the card and the digest; None before any usage or budget."""
    used = spent(settings, goal.id)
    budget = budget_of(goal, settings)
    if not used.runs and budget is None:
        return None
    line = Standing(goal.id, used.cost, budget).line()
    if used.unpriced:
        line += f" (unpriced: {', '.join(sorted(used.unpriced))})"
    return line


def standing(service: GoalService, settings: Settings, goal_id: str) -> Standing:
    with read_session(service.engine) as session:
        goal = Goals(session).get(goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    return Standing(goal_id, spent(settings, goal_id).cost, budget_of(goal, settings))


def _since_raise(session: Session, goal_id: str, action: str) -> list[AuditEntry]:
    """Entries of `action` recorded since the goal's budget was last raised."""
    rows = AuditReads(session).of_goal(goal_id=goal_id, actions=(action, RAISED))
    after: list[AuditEntry] = []
    for entry in rows:
        after = [] if entry.action == RAISED else [*after, entry]
    return after


def paused_at_budget(service: GoalService, goal_id: str) -> bool:
    """Is the goal's agent work held at its budget (paused since its budget was last raised)?"""
    with read_session(service.engine) as session:
        return bool(_since_raise(session, goal_id, PAUSED))


def check(
    service: GoalService,
    settings: Settings,
    *,
    goal_id: str,
    held: dict[str, Any] | None = None,
    cost_now: float | None = None,
) -> Standing | None:
    """Warn the thread once at the warning share; at 100% pause: ask an approver (once per budget),
    and keep `held` (an effect's kind, key and payload) to run again when the budget is raised.
    `cost_now`: the cost including a run still going (else the run records' sum).

    None when nothing is compared: the goal has no budget or is closed. That is found by a read,
    so a goal without a budget costs its drafts no write and no scan of its run records; and the
    run records (files) are summed before the write, not while the database's writer waits."""
    with read_session(service.engine) as session:
        looked = Goals(session).get(goal_id)
    if looked is None:
        raise GoalNotFound(goal_id)
    if budget_of(looked, settings) is None or looked.state != GoalState.ACTIVE:
        return None
    cost_so_far = spent(settings, goal_id).cost if cost_now is None else cost_now
    now = service.clock()
    with transaction(service.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        state = Standing(goal_id, cost_so_far, budget_of(goal, settings))
        if state.budget is None or goal.state != GoalState.ACTIVE:
            return None  # closed, or its budget taken away, since the read
        if state.over:
            asked = bool(_since_raise(session, goal_id, PAUSED))
            audit(
                session,
                actor=Actor("bot"),
                action=PAUSED,
                now=now,
                goal=goal,
                cost=round(state.cost, 6),
                budget=state.budget,
                held=held,
            )
            if not asked:
                add_effect(
                    session,
                    key=f"budget:{goal_id}:{state.budget}:paused",
                    goal_id=goal_id,
                    now=now,
                    payload=BudgetReached(cost=state.cost, budget=state.budget),
                )
                service._card_effect(session, goal, now, f"budget:{state.budget}:paused")
        elif state.share >= settings.budget_warn_ratio:
            if not _since_raise(session, goal_id, WARNED):
                audit(
                    session,
                    actor=Actor("bot"),
                    action=WARNED,
                    now=now,
                    goal=goal,
                    cost=round(state.cost, 6),
                    budget=state.budget,
                )
                add_effect(
                    session,
                    key=f"budget:{goal_id}:{state.budget}:warned",
                    goal_id=goal_id,
                    now=now,
                    payload=ThreadNote(
                        text=f":warning: {goal_id} has used {state.line()}. At 100% its agent work "
                        "pauses until an approver raises the budget."
                    ),
                )
        else:
            return state
    service._committed()
    return state


@dataclass(frozen=True)
class Raised:
    goal_id: str
    budget: float
    resumed: int  # held pieces of work started again


def raise_budget(
    service: GoalService, settings: Settings, *, goal_id: str, actor: Actor, to: float
) -> Raised:
    """An approver raises the goal's budget to `to` US dollars; the work its pause held runs again."""
    if not service.directory.is_approver_anywhere(actor.id):
        raise InvalidInput(f"Only an approver can raise the budget of {goal_id}.")
    cost = spent(settings, goal_id).cost
    if to <= cost:
        raise InvalidInput(f"{goal_id} has already spent {money(cost)}: a new budget must be more than that.")
    now = service.clock()
    with transaction(service.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if goal.state != GoalState.ACTIVE:
            raise GoalClosed(goal.id, goal.state)
        if not service.directory.is_approver(actor.id, repo=goal.repo):
            raise InvalidInput(f"Only an approver can raise the budget of {goal_id}.")
        before = budget_of(goal, settings)
        pauses = _since_raise(session, goal_id, PAUSED)
        goal.budget_usd = to
        goal.updated_at = now
        session.add(goal)
        audit(session, actor=actor, action=RAISED, now=now, goal=goal, budget_from=before, budget_to=to)
        resumed = 0
        for entry in pauses:
            held = entry.payload_dict().get("held")
            if not isinstance(held, dict) or not held.get("kind"):
                continue
            add_effect(
                session,
                key=f"{held.get('key')}:resumed:{entry.seq}"[:250],
                goal_id=goal_id,
                now=now,
                payload=parse(str(held["kind"]), held.get("payload") or {}),
            )
            resumed += 1
        service._card_effect(session, goal, now, f"budget:{to}:raised")
    service._committed()
    return Raised(goal_id, to, resumed)


def over_budget_watch(service: GoalService, settings: Settings, goal_id: str, model: str) -> Any:
    """A callback for a running Codex turn: given its usage so far, True once the goal's cost
    (its earlier runs plus this turn) reaches the budget. None when the goal has no budget."""
    with read_session(service.engine) as session:
        goal = Goals(session).get(goal_id)
    budget = budget_of(goal, settings) if goal is not None else None
    prices = dict(settings.prices)
    if budget is None or model not in prices:
        return None
    before = spent(settings, goal_id).cost
    ratio = settings.budget_warn_ratio
    warned = [False]

    def over(usage: Any) -> bool:
        total = before + cost(Tokens.of(usage), prices[model])
        if total >= budget:
            return True
        if total >= ratio * budget and not warned[0]:  # the thread hears it while the turn goes on
            warned[0] = True
            check(service, settings, goal_id=goal_id, cost_now=total)
        return False

    return over
