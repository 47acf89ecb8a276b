"""Elevated modes: a goal runs read-only unless an approver grants more, for that goal only.

A request names the mode and carries a written justification; an approver other than the person who
asked (and other than the goal's requester, unless self-approval is allowed) grants or denies it.
Every step lands in the audit log with the justification: mode.requested, mode.granted,
mode.denied, and mode.refused for a click that changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.services.authority import ApproverDirectory
from bot.services.changes import apply_change, goal_facts
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput, ServiceError
from bot.services.origin import ClickedMessage, check_post_origin
from bot.services.unit import Actor, Clock, add_effect, audit, load_goal_for_update
from bot.sop.effect_kinds import PostModeRequest, UpdateCard
from bot.sop.elevation import Duplicate, ModeClick, ModeDecided, ModeRequestFacts, NeedsAuthority, decide_mode
from bot.sop.outcomes import Refusal, Refused
from bot.sop.phases import GoalState, Mode
from storage.db import read_session, transaction
from storage.models import Goal, ModeRequest
from storage.repositories import Goals, ModeRequests
from storage.sessions import Engine, Session

if TYPE_CHECKING:
    from bot.deps import Deps as Container

ELEVATED = (Mode.WORKSPACE_WRITE, Mode.FULL_ACCESS)
JUSTIFICATION_MIN = 20
JUSTIFICATION_MAX = 3000


class ModeRefused(ServiceError):
    """A grant or deny that changes nothing; the message says why."""


@dataclass(frozen=True)
class ModeOutcome:
    request_id: int
    goal_id: str
    mode: str
    status: str  # granted | denied
    duplicate: bool = False  # the same person already took this same decision


def check_request(mode: str | None, justification: str | None) -> dict[str, str]:
    """Problems with a request, keyed by the modal's field names (empty when it is fine)."""
    problems: dict[str, str] = {}
    if mode not in {m.value for m in ELEVATED}:
        problems["mode"] = "Choose workspace-write or full-access."
    text = (justification or "").strip()
    if len(text) < JUSTIFICATION_MIN:
        problems["justification"] = (
            f"Write at least {JUSTIFICATION_MIN} characters: what needs the access, and why read-only is not enough."
        )
    elif len(text) > JUSTIFICATION_MAX:
        problems["justification"] = f"Keep it under {JUSTIFICATION_MAX} characters."
    return problems


@dataclass
class ElevationService:
    engine: Engine
    directory: ApproverDirectory
    clock: Clock
    allow_self_approval: bool = False
    kick: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def from_container(cls, c: Container) -> ElevationService:
        return cls(
            engine=c.engine,
            directory=c.directory,
            clock=c.clock,
            allow_self_approval=c.settings.allow_self_approval,
            kick=[c.dispatcher.kick],
        )

    def _committed(self) -> None:
        for callback in self.kick:
            callback()

    def request(self, *, goal_id: str, mode: str, justification: str, actor: Actor) -> ModeRequest:
        """Record a request and ask the goal's thread for an approver's confirmation."""
        problems = check_request(mode, justification)
        if problems:
            raise InvalidInput(" ".join(problems.values()))
        justification = justification.strip()
        now = self.clock()
        with transaction(self.engine) as session:
            goal = self._active_goal(session, goal_id)
            if actor.id != goal.requester and not self.directory.is_approver(actor.id, repo=goal.repo):
                raise InvalidInput(
                    f"Only the requester of {goal.id} or an approver can ask for an elevated mode."
                )
            if goal.mode == mode:
                raise InvalidInput(f"{goal.id} already runs in {mode}.")
            pending = self._pending(session, goal.id)
            if pending is not None:
                raise InvalidInput(
                    f"A request for {pending.mode} is already waiting for an approver in the thread of {goal.id}."
                )
            row = ModeRequest(
                goal_id=goal.id, mode=mode, justification=justification, requested_by=actor.id, created_at=now
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            audit(
                session,
                actor=actor,
                action="mode.requested",
                now=now,
                goal=goal,
                justification=justification,
                requested_mode=mode,
                request_id=row.id,
            )
            if goal.channel_id:
                add_effect(
                    session,
                    key=f"mode:{row.id}:post",
                    goal_id=goal.id,
                    now=now,
                    payload=PostModeRequest(request_id=row.id),
                )
                add_effect(
                    session,
                    key=f"card:{goal.id}:mode:{row.id}:requested",
                    goal_id=goal.id,
                    now=now,
                    payload=UpdateCard(),
                )
        self._committed()
        return row

    def decide(
        self,
        *,
        request_id: int,
        goal_id: str,
        grant: bool,
        actor: Actor,
        clicked: ClickedMessage | None = None,
        allowed: bool | None = None,
    ) -> ModeOutcome:
        """Grant or deny a pending request; a refusal is audited and raised, and changes nothing.

        From Slack, `clicked` is the message the button was on: it must be the request's own message.
        """
        now = self.clock()
        # Authority is looked up before the write lock is taken (a group lookup asks Slack).
        with read_session(self.engine) as session:
            found = Goals(session).get(goal_id)
            chosen = list(found.approvers) if found else []
            repo = found.repo if found else None
        allowed = self.directory.may_decide(actor.id, chosen, repo=repo)
        try:
            with transaction(self.engine) as session:
                outcome = self._decide(session, request_id, goal_id, grant, actor, now, clicked, allowed)
        except ServiceError as exc:
            with transaction(self.engine) as session:
                goal = Goals(session).get(goal_id)
                audit(
                    session,
                    actor=actor,
                    action="mode.refused",
                    now=now,
                    goal=goal,
                    goal_id=None if goal else goal_id,
                    request_id=request_id,
                    decision="grant" if grant else "deny",
                    reason=type(exc).__name__,
                )
            raise
        if not outcome.duplicate:
            self._committed()
        return outcome

    # -- inside a transaction ------------------------------------------------------------------

    def _active_goal(self, session: Session, goal_id: str) -> Goal:
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if goal.state != GoalState.ACTIVE:
            raise GoalClosed(goal.id, goal.state)
        return goal

    @staticmethod
    def _pending(session: Session, goal_id: str) -> ModeRequest | None:
        return ModeRequests(session).pending(goal_id=goal_id)

    def _decide(
        self,
        session: Session,
        request_id: int,
        goal_id: str,
        grant: bool,
        actor: Actor,
        now: datetime,
        clicked: ClickedMessage | None = None,
        allowed: bool | None = None,
    ) -> ModeOutcome:
        # The goal row is locked first, as every other use case does, so two clicks queue here.
        goal = load_goal_for_update(session, goal_id)
        row = ModeRequests(session).for_update(request_id)
        if goal is None or row is None or row.goal_id != goal.id:
            raise ModeRefused("That request no longer exists.")
        if clicked is not None:
            check_post_origin(goal, row.message_ts, clicked)
        facts, request = goal_facts(goal), _request_facts(row)
        click = ModeClick(actor.id, grant)
        answer = decide_mode(
            facts, request, click, allow_self_approval=self.allow_self_approval, allowed=allowed
        )
        if isinstance(answer, NeedsAuthority):
            allowed = self.directory.may_decide(actor.id, goal.approvers, repo=goal.repo)
            answer = decide_mode(
                facts, request, click, allow_self_approval=self.allow_self_approval, allowed=allowed
            )
        if isinstance(answer, Duplicate):
            return ModeOutcome(row.id or 0, goal.id, row.mode, answer.status, duplicate=True)
        if isinstance(answer, Refusal):
            if answer.reason is Refused.GOAL_CLOSED:
                raise GoalClosed(goal.id, goal.state)
            raise ModeRefused(answer.message)
        assert isinstance(answer, ModeDecided)
        row.status, row.decided_by, row.decided_at = answer.status, actor.id, now
        session.add(row)
        goal.mode = answer.change.goal.mode  # the audit entry records the goal's mode as granted
        session.flush()
        apply_change(session, goal, answer.change, actor=actor, now=now)
        if grant:
            goal.updated_at = now
        return ModeOutcome(row.id or 0, goal.id, row.mode, answer.status)


def _request_facts(row: ModeRequest) -> ModeRequestFacts:
    return ModeRequestFacts(
        id=row.id or 0,
        goal_id=row.goal_id,
        mode=row.mode,
        status=row.status,
        requested_by=row.requested_by,
        decided_by=row.decided_by,
        justification=row.justification,
    )
