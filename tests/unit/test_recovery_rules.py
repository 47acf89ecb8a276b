"""The failed-work rules as data in, data out: which job holds its goal, what a last failure
writes, and what a retry records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.sop import recovery
from bot.sop.outcomes import GoalFacts, Refusal, Refused
from bot.sop.phases import GoalState, Phase, PhaseStatus

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def goal(**kw: Any) -> GoalFacts:
    base = GoalFacts(
        id="G-0001",
        title="CSV export",
        requester="UREQ",
        phase=Phase.PRD.value,
        status=PhaseStatus.DRAFTING.value,
        state=GoalState.ACTIVE.value,
        channel_id="C1",
    )
    return replace(base, **kw)


def job(**kw: Any) -> recovery.JobFacts:
    base = recovery.JobFacts(
        id=9,
        kind="draft",
        key="draft:G-0001:prd:1",
        payload={"phase": Phase.PRD.value},
        attempts=3,
        last_error="boom",
    )
    return replace(base, **kw)


@pytest.mark.parametrize(
    ("g", "j", "holds"),
    [
        (goal(), job(), True),
        (goal(status=PhaseStatus.CHANGES_REQUESTED.value), job(), True),
        (goal(phase=Phase.TASK_LIST.value), job(), False),  # an obsolete draft of a phase it has left
        (goal(status=PhaseStatus.AWAITING_APPROVAL.value), job(), False),  # its result is recorded
        (goal(state=GoalState.CANCELLED.value), job(), False),
        (goal(phase=Phase.IMPLEMENTATION.value), job(kind="build", payload={}), True),
        (goal(), job(kind="build", payload={}), False),
    ],
)
def test_a_job_holds_its_goal_only_while_it_is_the_goals_current_work(
    g: GoalFacts, j: recovery.JobFacts, holds: bool
) -> None:
    assert recovery.holds_goal(g, j) is holds


def test_a_last_failure_fails_the_goal_and_offers_what_a_person_can_do() -> None:
    change = recovery.stalled(goal(), job(payload={"phase": "prd", "retries": 1}), what="PRD draft", at=AT)
    assert change is not None
    assert change.goal.status == PhaseStatus.FAILED and change.goal.updated_at == AT
    (event,) = change.events
    assert (event.action, event.actor, dict(event.payload)) == (
        "goal.stalled",
        "bot",
        {"job": 9, "kind": "draft", "error": "boom"},
    )
    failure, card = change.effects
    assert failure.key == "failed:G-0001:job:9:1" and failure.kind == recovery.FAILURE_KIND
    assert dict(failure.payload)["auto_retry"] is True
    assert card.kind == "slack.update_card"


def test_after_the_automatic_rounds_the_message_offers_no_automatic_retry() -> None:
    j = job(payload={"phase": "prd", "auto_retries": recovery.AUTO_RETRY_ROUNDS})
    change = recovery.stalled(goal(), j, what="PRD draft", at=AT)
    assert change is not None and dict(change.effects[0].payload)["auto_retry"] is False


def test_a_job_that_held_nothing_changes_nothing() -> None:
    assert recovery.stalled(goal(phase=Phase.TASK_LIST.value), job(), what="x", at=AT) is None
    assert recovery.stalled(goal(), job(kind="review"), what="x", at=AT) is None


def test_a_retry_records_the_same_work_again_under_a_fresh_key() -> None:
    failed = goal(status=PhaseStatus.FAILED.value)
    first = job(payload={"phase": "prd"})
    plan = recovery.plan_retry(failed, first, feedback=None, auto=True)
    assert isinstance(plan, recovery.RetryPlan)
    assert plan.key == "draft:G-0001:prd:1:retry:1"
    assert plan.failure_key == "failed:G-0001:job:9:0"
    assert dict(plan.payload) == {"phase": "prd", "retries": 1, "auto_retries": 1}
    assert plan.status == PhaseStatus.DRAFTING
    # A retry of a retry names the first attempt's key, not the retry's.
    again = recovery.plan_retry(
        failed,
        job(key=plan.key, payload={**plan.payload, "retry_of": plan.base_key}),
        feedback="shorter",
        auto=False,
    )
    assert isinstance(again, recovery.RetryPlan)
    assert again.key == "draft:G-0001:prd:1:retry:2"
    assert again.status == PhaseStatus.CHANGES_REQUESTED
    assert dict(again.payload)["feedback"] == "shorter"

    change = recovery.retried(
        failed, first, plan, actor="UAPP", what="PRD draft", feedback=None, auto=True, at=AT
    )
    assert change.goal.status == PhaseStatus.DRAFTING
    (event,) = change.events
    assert dict(event.payload) == {"job": 9, "kind": "draft", "round": 1, "automatic": True}
    work, settle, card = change.effects
    assert (work.key, work.kind, dict(work.payload)["retry_of"]) == (plan.key, "draft", "draft:G-0001:prd:1")
    assert settle.key == "settle:failed:G-0001:job:9:0" and dict(settle.payload)["automatic"] is True
    assert card.key == "card:G-0001:retried:9:1"


def test_nothing_failed_or_a_closed_goal_is_refused() -> None:
    nothing = recovery.plan_retry(goal(), None, feedback=None, auto=False)
    assert isinstance(nothing, Refusal) and "there is no failed draft or build to retry" in nothing.message
    closed = recovery.plan_retry(goal(state=GoalState.DONE.value), job(), feedback=None, auto=False)
    assert isinstance(closed, Refusal) and closed.reason is Refused.GOAL_CLOSED
