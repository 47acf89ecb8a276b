"""The rules of a re-review: who may confirm that approved artifacts still hold, which versions a
click may name, and what a confirmation (or a request for changes) writes. Plain data in, what
happened out; the time of the review comes in as a value."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from bot.sop.effect_kinds import PublishState, ThreadNote
from bot.sop.outcomes import ArtifactFacts, Change, Effect, Event, GoalFacts, Refusal, Refused
from bot.sop.phases import LABELS, GoalState, Phase


class _Version(Protocol):
    @property
    def phase(self) -> str: ...
    @property
    def sha256(self) -> str: ...


V = TypeVar("V", bound=_Version)


def approved_latest(versions: Sequence[V], approved: Collection[str]) -> list[V]:
    """The latest of `versions` (oldest first) in each phase, kept when its sha256 was approved."""
    latest: dict[str, V] = {}
    for version in versions:
        latest[version.phase] = version
    return [v for v in latest.values() if v.sha256 in approved]


def check_reviewer(
    goal: GoalFacts, actor: str, *, is_approver: bool, allow_self_approval: bool
) -> Refusal | None:
    """The same separation of duties as an approval: an approver of an open goal, not its requester."""
    if goal.state != GoalState.ACTIVE:
        return Refusal(Refused.GOAL_CLOSED, goal.id, detail={"state": goal.state})
    if not is_approver:
        return Refusal(Refused.NOT_AN_APPROVER, goal.id, detail={"phase": "re-review"})
    if actor == goal.requester and not allow_self_approval:
        return Refusal(Refused.SELF_APPROVAL, goal.id)
    return None


def check_click(goal_id: str, phase: str, sha256: str, current: Sequence[ArtifactFacts]) -> Refusal | None:
    """A button names the version it showed: refused when that is no longer the approved one."""
    if any(a.phase == phase and a.sha256 == sha256 for a in current):
        return None
    return Refusal(
        Refused.STALE,
        goal_id,
        f"{goal_id} {LABELS[Phase(phase)]}: the version this message showed is no longer the approved "
        "one; your click changed nothing",
    )


@dataclass(frozen=True)
class Reaffirmed:
    """The versions confirmed unchanged (a review row each) and what to write with them."""

    reviewed: tuple[ArtifactFacts, ...]
    change: Change


def reaffirm(
    goal: GoalFacts,
    current: Sequence[ArtifactFacts],
    *,
    actor: str,
    phases: Collection[str],
    sha256: str | None,
    at: datetime,
) -> Reaffirmed | Refusal:
    """Confirm unchanged the approved versions `current` (all, or those of `phases`); with `sha256`
    (a button's), only while it is still the approved version of each of `phases`. One audit entry
    per version and one commit of the index with the reviewer and the phases as trailers."""
    if sha256 is not None:
        for phase in phases:
            stale = check_click(goal.id, phase, sha256, current)
            if stale is not None:
                return stale
    chosen = tuple(a for a in current if not phases or a.phase in phases)
    if not chosen:
        return Refusal(
            Refused.NO_ARTIFACT,
            goal.id,
            f"{goal.id} has no approved artifact to re-review" + (" in that phase" if phases else ""),
        )
    events = tuple(
        Event(
            action="artifact.reviewed",
            phase=a.phase,
            sha=a.sha256,
            payload={"version": a.version, "outcome": "unchanged"},
        )
        for a in chosen
    )
    names = ", ".join(f"{LABELS[Phase(a.phase)]} v{a.version}" for a in chosen)
    publish = Effect(
        key=f"publish:{goal.id}:reviewed:{at.isoformat()}",
        data=PublishState(
            message=f"orch({goal.id}): re-review {names} — unchanged",
            trailers={"Phase": ", ".join(a.phase for a in chosen), "Approved-By": actor},
        ),
    )
    return Reaffirmed(chosen, Change(goal=goal, events=events, effects=(publish,)))


def ask_for_changes(
    goal: GoalFacts, current: Sequence[ArtifactFacts], *, actor: str, phase: str, sha256: str, at: datetime
) -> Change | Refusal:
    """An approver asks for changes of an approved version instead of confirming it. The procedure
    reopens no earlier phase: the request is audited and said in the thread, to the requester."""
    stale = check_click(goal.id, phase, sha256, current)
    if stale is not None:
        return stale
    art = next(a for a in current if a.phase == phase)
    event = Event(
        action="review.changes_requested", phase=phase, sha=sha256, payload={"version": art.version}
    )
    effects: tuple[Effect, ...] = ()
    if goal.channel_id:
        label = f"{LABELS[Phase(phase)]} v{art.version}"
        effects = (
            Effect(
                key=f"note:{goal.id}:review-changes:{phase}:{sha256[:12]}:{actor}:{at.isoformat()}",
                data=ThreadNote(
                    text=f"<@{actor}> asks for changes to {label} instead of re-approving it unchanged. "
                    f"<@{goal.requester}>: until an approver re-approves it, it goes stale and the spec guard "
                    "refuses the repository; bring the change as a new goal (`/orch start`), or cancel this one."
                ),
            ),
        )
    return Change(goal=goal, events=(event,), effects=effects)
