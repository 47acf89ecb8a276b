"""The rule for granting or denying an elevated mode: plain data in, what happened out.

A request for more than read-only is decided by an approver other than the person who asked, and
other than the goal's requester unless self-approval is allowed. A second click by the same person
with the same answer is a duplicate (answered, not refused); any other click on a decided request is
refused. No database, Slack or clock: the service loads the facts, asks for authority only when
every other check passed, and writes back what the rule returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sop.effect_kinds import MarkModeDecided, UpdateCard
from bot.sop.outcomes import Change, Effect, Event, GoalFacts, Refusal, Refused
from bot.sop.phases import GoalState

PENDING = "pending"


@dataclass(frozen=True)
class ModeRequestFacts:
    """A request for an elevated mode, as stored."""

    id: int
    goal_id: str
    mode: str
    status: str  # pending | granted | denied
    requested_by: str
    decided_by: str | None = None
    justification: str | None = None


@dataclass(frozen=True)
class ModeClick:
    """Who answers the request, and how."""

    actor: str
    grant: bool

    @property
    def wanted(self) -> str:
        return "granted" if self.grant else "denied"


@dataclass(frozen=True)
class NeedsAuthority:
    """Every other check passed: the answer depends on whether the actor may decide."""


@dataclass(frozen=True)
class Duplicate:
    """The same person already took this same decision: nothing changes."""

    status: str


@dataclass(frozen=True)
class ModeDecided:
    """The request's new status and what to write: the goal (with its new mode when granted), the
    audit entry and the thread updates."""

    status: str
    change: Change


ModeAnswer = ModeDecided | Duplicate | NeedsAuthority | Refusal


def decide_mode(
    goal: GoalFacts,
    request: ModeRequestFacts,
    click: ModeClick,
    *,
    allow_self_approval: bool,
    allowed: bool | None = None,
) -> ModeAnswer:
    """Grant or deny `request` for `click.actor`. With `allowed=None` the rule stops at the question
    of authority (`NeedsAuthority`) once everything else is settled, so a directory lookup is made
    only when it decides something."""
    if request.goal_id != goal.id:
        return Refusal(Refused.NOT_ALLOWED, goal.id, "That request no longer exists.")
    if request.status != PENDING:
        if request.status == click.wanted and request.decided_by == click.actor:
            return Duplicate(request.status)
        return Refusal(
            Refused.TOO_LATE,
            goal.id,
            f"This request was already {request.status} by <@{request.decided_by}>.",
        )
    if goal.state != GoalState.ACTIVE:
        return Refusal(Refused.GOAL_CLOSED, goal.id, detail={"state": goal.state})
    if click.actor == request.requested_by:
        return Refusal(
            Refused.SELF_APPROVAL,
            goal.id,
            "You asked for this mode yourself; another approver must confirm it (separation of duties).",
        )
    if click.actor == goal.requester and not allow_self_approval:
        return Refusal(
            Refused.SELF_APPROVAL,
            goal.id,
            f"You started {goal.id}, so another approver must confirm its elevated mode (separation of duties).",
        )
    if allowed is None:
        return NeedsAuthority()
    if not allowed:
        return Refusal(
            Refused.NOT_AN_APPROVER,
            goal.id,
            f"You are not an approver for {goal.id}, so you cannot {'grant' if click.grant else 'deny'} its "
            "elevated mode. `/orch approvers` lists who can.",
        )
    wanted = click.wanted
    event = Event(
        action=f"mode.{wanted}",
        phase=goal.phase,
        justification=request.justification,
        payload={
            "requested_mode": request.mode,
            "request_id": request.id,
            "requested_by": request.requested_by,
        },
    )
    effects: tuple[Effect, ...] = ()
    if goal.channel_id:
        effects = (
            Effect(
                key=f"mode:{request.id}:decided",
                data=MarkModeDecided(request_id=request.id),
            ),
            Effect(key=f"card:{goal.id}:mode:{request.id}:{wanted}", data=UpdateCard()),
        )
    after = goal.but(mode=request.mode) if click.grant else goal
    return ModeDecided(wanted, Change(goal=after, events=(event,), effects=effects))
