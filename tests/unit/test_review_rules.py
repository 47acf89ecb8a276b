"""The re-review rules as data in, data out: who may review, which click counts, what is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.sop import reviews
from bot.sop.outcomes import ArtifactFacts, Change, GoalFacts, Refusal, Refused
from bot.sop.phases import GoalState, Phase, PhaseStatus

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PRD, TASKS = Phase.PRD.value, Phase.TASK_LIST.value


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


def art(phase: str, version: int, sha: str) -> ArtifactFacts:
    return ArtifactFacts(id=version, phase=phase, version=version, sha256=sha)


CURRENT = [art(PRD, 2, "p" * 64), art(TASKS, 1, "t" * 64)]


def test_only_the_latest_version_of_each_phase_counts_and_only_when_approved() -> None:
    versions = [art(PRD, 1, "old"), art(PRD, 2, "new"), art(TASKS, 1, "tasks"), art(TASKS, 2, "draft")]
    assert reviews.approved_latest(versions, {"old", "new", "tasks"}) == [art(PRD, 2, "new")]


@pytest.mark.parametrize(
    ("g", "actor", "is_approver", "self_ok", "reason"),
    [
        (goal(state=GoalState.DONE.value), "UAPP", True, False, Refused.GOAL_CLOSED),
        (goal(), "UNOBODY", False, False, Refused.NOT_AN_APPROVER),
        (goal(), "UREQ", True, False, Refused.SELF_APPROVAL),
    ],
)
def test_a_reviewer_must_be_an_approver_of_an_open_goal_and_not_its_requester(
    g: GoalFacts, actor: str, is_approver: bool, self_ok: bool, reason: Refused
) -> None:
    refused = reviews.check_reviewer(g, actor, is_approver=is_approver, allow_self_approval=self_ok)
    assert isinstance(refused, Refusal) and refused.reason is reason


def test_the_requester_may_review_when_self_approval_is_allowed() -> None:
    assert reviews.check_reviewer(goal(), "UREQ", is_approver=True, allow_self_approval=True) is None


def test_confirming_writes_an_entry_per_version_and_one_commit_with_trailers() -> None:
    done = reviews.reaffirm(goal(), CURRENT, actor="UAPP", phases=(), sha256=None, at=AT)
    assert isinstance(done, reviews.Reaffirmed)
    assert [a.phase for a in done.reviewed] == [PRD, TASKS]
    assert [(e.action, e.phase, dict(e.payload)) for e in done.change.events] == [
        ("artifact.reviewed", PRD, {"version": 2, "outcome": "unchanged"}),
        ("artifact.reviewed", TASKS, {"version": 1, "outcome": "unchanged"}),
    ]
    (publish,) = done.change.effects
    assert publish.kind == "repo.publish_state"
    assert publish.key == f"publish:G-0001:reviewed:{AT.isoformat()}"
    assert dict(publish.payload)["trailers"] == {"Phase": f"{PRD}, {TASKS}", "Approved-By": "UAPP"}
    assert done.change.goal == goal()  # a re-review moves no gate


def test_confirming_one_phase_from_its_button_checks_the_version_it_showed() -> None:
    done = reviews.reaffirm(goal(), CURRENT, actor="UAPP", phases={PRD}, sha256="p" * 64, at=AT)
    assert isinstance(done, reviews.Reaffirmed) and [a.phase for a in done.reviewed] == [PRD]
    stale = reviews.reaffirm(goal(), CURRENT, actor="UAPP", phases={PRD}, sha256="x" * 64, at=AT)
    assert isinstance(stale, Refusal) and stale.reason is Refused.STALE
    assert "no longer the approved one" in stale.message


def test_nothing_approved_is_refused() -> None:
    refused = reviews.reaffirm(goal(), [], actor="UAPP", phases={PRD}, sha256=None, at=AT)
    assert isinstance(refused, Refusal) and refused.reason is Refused.NO_ARTIFACT
    assert refused.message == "G-0001 has no approved artifact to re-review in that phase"


def test_asking_for_changes_is_audited_and_said_to_the_requester_in_the_thread() -> None:
    change = reviews.ask_for_changes(goal(), CURRENT, actor="UAPP", phase=PRD, sha256="p" * 64, at=AT)
    assert isinstance(change, Change)
    assert [(e.action, dict(e.payload)) for e in change.events] == [
        ("review.changes_requested", {"version": 2})
    ]
    (note,) = change.effects
    assert note.kind == "slack.thread_note" and "<@UREQ>" in dict(note.payload)["text"]
    quiet = reviews.ask_for_changes(
        goal(channel_id=None), CURRENT, actor="UAPP", phase=PRD, sha256="p" * 64, at=AT
    )
    assert isinstance(quiet, Change) and quiet.effects == ()
    stale = reviews.ask_for_changes(goal(), CURRENT, actor="UAPP", phase=PRD, sha256="t" * 64, at=AT)
    assert isinstance(stale, Refusal) and stale.reason is Refused.STALE
