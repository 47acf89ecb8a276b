"""The use cases behind a failed draft: request changes with no artifact, retry, who may, what is refused.

Real SQLite, the real queue; the draft's attempts are failed through the queue as a worker would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import build_container
from bot.jobs import queue, recovery
from bot.services.errors import InvalidInput, NotAnApprover, NotAwaitingDecision
from bot.services.unit import Actor
from bot.sop.phases import Decision
from storage.db import read_session
from storage.jobs_models import Job
from storage.models import Effect
from tests.conftest import make_settings
from tests.integration.jobs_support import audit_actions

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def fail_for_good(engine: object, key: str) -> None:
    """Fail every attempt of the job with `key`, as a worker whose model keeps answering 500 would."""
    while True:
        claimed = queue.claim(engine, now=T0, worker="w", limit=1, key=key)  # type: ignore[arg-type]
        if not claimed:
            return
        queue.fail(engine, claimed[0], now=T0, error="DraftError: the model answered HTTP 500", backoff=0)  # type: ignore[arg-type]


@pytest.fixture
def stalled(tmp_path: Path, target_repo: Path):  # type: ignore[no-untyped-def]
    c = build_container(make_settings(tmp_path, target_repo), clock=lambda: T0)
    goal = c.goals.start_goal(brief="Add a CSV export", actor=Actor("U_REQ"), channel_id="C1")
    # No worker runs here: the scaffold check's job, added as the goal started, fails for good.
    key = f"draft:{goal.id}:scaffold_check:0:1"
    fail_for_good(c.engine, key)
    return c, goal.id, key


def rerun(c, key: str, n: int = 1) -> Job:  # type: ignore[no-untyped-def]
    """The `n`th retry of the work first enqueued as `key`, as recorded (a job of its own)."""
    with read_session(c.engine) as session:
        found = session.exec(select(Job).where(Job.key == f"{key}:retry:{n}")).first()
    assert found is not None, f"no retry {n} of {key} was recorded"
    return found


def job(c, key: str) -> Job:  # type: ignore[no-untyped-def]
    return next(j for j in queue.goal_jobs(c.engine, key.split(":")[1]) if j.key == key)


def test_a_failed_draft_holds_its_goal_and_request_changes_runs_it_again_with_the_feedback(stalled) -> None:  # type: ignore[no-untyped-def]
    c, goal_id, key = stalled
    assert c.goals.get(goal_id).status == "failed"
    assert job(c, key).status == "failed"
    with pytest.raises(NotAwaitingDecision):  # nothing to approve
        c.goals.decide(goal_id=goal_id, phase=None, sha256=None, decision=Decision.APPROVE, actor=Actor("U_APP1"))
    with pytest.raises(NotAnApprover):  # feedback is an approver's, as on a gate
        c.goals.decide(goal_id=goal_id, phase=None, sha256=None, decision=Decision.REQUEST_CHANGES,
                       actor=Actor("U_REQ"), reason="Use the other template.")

    outcome = c.goals.decide(goal_id=goal_id, phase=None, sha256=None, decision=Decision.REQUEST_CHANGES,
                             actor=Actor("U_APP1"), reason="Use the other template.")
    assert (outcome.decision, outcome.version, outcome.complete) == ("request_changes", 0, True)
    # The work is recorded again for the outbox (a worker runs it as a new job); the failed job stays.
    again = rerun(c, key)
    assert (again.kind, again.payload["feedback"], again.payload["retries"]) == ("draft", "Use the other template.", 1)
    assert again.payload["phase"] == "scaffold_check" and again.payload["version"] == 1
    assert job(c, key).status == "failed"
    assert c.goals.get(goal_id).status == "changes_requested"
    # Nothing is failed any more: a second request is refused with the reason.
    with pytest.raises(InvalidInput, match="no failed draft or build"):
        recovery.retry_failed(c.goals, goal_id=goal_id, actor=Actor("U_APP1"))


def test_retry_is_for_the_requester_and_approvers_and_is_audited(stalled) -> None:  # type: ignore[no-untyped-def]
    c, goal_id, key = stalled
    with pytest.raises(InvalidInput, match="Only the requester or an approver"):
        recovery.retry_failed(c.goals, goal_id=goal_id, actor=Actor("U_SOMEONE"))
    done = recovery.retry_failed(c.goals, goal_id=goal_id, actor=Actor("U_REQ"))
    assert (done.goal_id, done.kind, done.feedback) == (goal_id, "draft", False)
    again = rerun(c, key)
    assert c.goals.get(goal_id).status == "drafting"
    # The new job fails as well: the goal is held again, and the thread gets a second message; the
    # next retry counts on from there.
    fail_for_good(c.engine, again.key)
    assert c.goals.get(goal_id).status == "failed"
    recovery.retry_failed(c.goals, goal_id=goal_id, actor=Actor("U_APP1"))
    assert rerun(c, key, 2).payload["retries"] == 2
    with read_session(c.engine) as session:
        messages = session.exec(select(Effect).where(Effect.kind == recovery.FAILURE_KIND)).all()
    assert len(messages) == 2
    retried = [p for a, p in audit_actions(c.engine, goal_id, prefix="job.retried")]
    assert [(p["kind"], p["round"]) for p in retried] == [("draft", 1), ("draft", 2)]
