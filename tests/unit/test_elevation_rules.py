"""The elevated-mode rule as data in, data out: every refusal, the duplicate and both answers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.sop.elevation import (
    Duplicate,
    ModeClick,
    ModeDecided,
    ModeRequestFacts,
    NeedsAuthority,
    decide_mode,
)
from bot.sop.outcomes import GoalFacts, Refusal, Refused
from bot.sop.phases import GoalState, Phase, PhaseStatus


def goal(**kw: Any) -> GoalFacts:
    base = GoalFacts(
        id="G-0001",
        title="CSV export",
        requester="UREQ",
        phase=Phase.IMPLEMENTATION.value,
        status=PhaseStatus.DRAFTING.value,
        state=GoalState.ACTIVE.value,
        channel_id="C1",
    )
    return replace(base, **kw)


def request(**kw: Any) -> ModeRequestFacts:
    base = ModeRequestFacts(
        id=3,
        goal_id="G-0001",
        mode="workspace-write",
        status="pending",
        requested_by="UASK",
        justification="why",
    )
    return replace(base, **kw)


def answer(
    g: GoalFacts | None = None,
    r: ModeRequestFacts | None = None,
    *,
    actor: str = "UAPP",
    grant: bool = True,
    allowed: bool | None = True,
    allow_self: bool = False,
) -> Any:
    return decide_mode(
        g or goal(), r or request(), ModeClick(actor, grant), allow_self_approval=allow_self, allowed=allowed
    )


def test_a_grant_by_another_approver_raises_the_goals_mode_and_tells_the_thread() -> None:
    decided = answer()
    assert isinstance(decided, ModeDecided)
    assert decided.status == "granted"
    assert decided.change.goal.mode == "workspace-write"
    (event,) = decided.change.events
    assert event.action == "mode.granted"
    assert event.justification == "why"
    assert dict(event.payload) == {
        "requested_mode": "workspace-write",
        "request_id": 3,
        "requested_by": "UASK",
    }
    assert [e.kind for e in decided.change.effects] == ["slack.mark_mode_decided", "slack.update_card"]
    assert decided.change.effects[1].key == "card:G-0001:mode:3:granted"


def test_a_denial_keeps_the_mode_and_a_goal_without_a_thread_posts_nothing() -> None:
    decided = answer(goal(channel_id=None), grant=False)
    assert isinstance(decided, ModeDecided)
    assert decided.status == "denied"
    assert decided.change.goal.mode == "read-only"
    assert decided.change.events[0].action == "mode.denied"
    assert decided.change.effects == ()


def test_the_same_answer_by_the_same_person_again_is_a_duplicate() -> None:
    assert answer(r=request(status="granted", decided_by="UAPP")) == Duplicate("granted")


@pytest.mark.parametrize(
    ("kw", "reason", "says"),
    [
        ({"r": request(goal_id="G-0002")}, Refused.NOT_ALLOWED, "no longer exists"),
        (
            {"r": request(status="granted", decided_by="UOTHER")},
            Refused.TOO_LATE,
            "already granted by <@UOTHER>",
        ),
        (
            {"r": request(status="granted", decided_by="UAPP"), "grant": False},
            Refused.TOO_LATE,
            "already granted",
        ),
        ({"g": goal(state=GoalState.CANCELLED.value)}, Refused.GOAL_CLOSED, ""),
        ({"actor": "UASK"}, Refused.SELF_APPROVAL, "You asked for this mode yourself"),
        ({"actor": "UREQ"}, Refused.SELF_APPROVAL, "You started G-0001"),
        ({"allowed": False}, Refused.NOT_AN_APPROVER, "cannot grant"),
        ({"allowed": False, "grant": False}, Refused.NOT_AN_APPROVER, "cannot deny"),
    ],
)
def test_every_refusal_changes_nothing_and_says_why(kw: dict[str, Any], reason: Refused, says: str) -> None:
    refused = answer(**kw)
    assert isinstance(refused, Refusal)
    assert refused.reason is reason
    assert says in refused.message


def test_the_requester_may_decide_when_self_approval_is_allowed() -> None:
    assert isinstance(answer(actor="UREQ", allow_self=True), ModeDecided)


def test_authority_is_asked_only_once_every_other_check_passed() -> None:
    assert isinstance(answer(allowed=None), NeedsAuthority)
    assert isinstance(answer(goal(state=GoalState.DONE.value), allowed=None), Refusal)
