"""The outbox on a real database with the clock in the test's hand: retries outlast an outage, a goal's
order holds behind a waiting or failed effect, and a final failure is told, listed and retried."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.effects.dispatcher import FAILURE_NOTE, EffectDispatcher
from bot.effects.retry import RetryPolicy
from bot.services.effects import EffectsService, outbox_report
from bot.services.errors import InvalidInput
from bot.services.unit import Actor
from storage.audit import AuditEntry
from storage.db import transaction
from storage.models import Effect, Goal
from tests.support.databases import migrated_database

START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Outage(Exception):
    """What a handler raises while its service is down (classified as transient)."""


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[EffectDispatcher, Clock]]:
    with migrated_database(request, tmp_path, request.param) as (engine, _url):
        yield _world(engine)


def _world(engine: Engine) -> tuple[EffectDispatcher, Clock]:
    clock = Clock()
    with transaction(engine) as session:
        for goal_id in ("G-0001", "G-0002"):
            session.add(
                Goal(
                    id=goal_id, title="t", brief="b", requester="U_REQ", channel_id="C_DEV", phase="prd",
                    status="drafting", phase_started_at=START, created_at=START, updated_at=START,
                )
            )  # fmt: skip
    policy = RetryPolicy(base=1, cap=300, horizon=timedelta(hours=2), rng=lambda: 0.5)
    return EffectDispatcher(engine=engine, clock=clock, policy=policy), clock


def record(
    dispatcher: EffectDispatcher, key: str, kind: str, goal_id: str | None = "G-0001", **payload: object
) -> int:
    with transaction(dispatcher.engine) as session:
        effect = Effect(key=key, kind=kind, goal_id=goal_id, payload=dict(payload), created_at=START)
        session.add(effect)
        session.flush()
        assert effect.id is not None
        return effect.id


def rows(dispatcher: EffectDispatcher) -> dict[str, Effect]:
    with Session(dispatcher.engine) as session:
        return {e.key: e for e in session.exec(select(Effect).order_by(col(Effect.id))).all()}


def run(dispatcher: EffectDispatcher) -> None:
    asyncio.run(dispatcher.drain(timeout=30))


def handlers(dispatcher: EffectDispatcher, down: Callable[[Effect], bool]) -> list[str]:
    calls: list[str] = []

    async def handler(effect: Effect) -> None:
        calls.append(effect.key)
        if down(effect):
            raise Outage("Slack answered HTTP 500")

    for kind in ("slack.post_artifact", "slack.update_card", "repo.publish_artifact", "draft", FAILURE_NOTE):
        dispatcher.register(kind, handler)
    dispatcher.register("slack.thread_note", handler)
    return calls


def test_an_outage_longer_than_six_attempts_is_outlasted_and_the_goal_keeps_its_order(
    world: tuple[EffectDispatcher, Clock],
) -> None:
    dispatcher, clock = world
    slack_down = True
    calls = handlers(dispatcher, lambda e: slack_down and e.kind.startswith("slack."))
    record(dispatcher, "post-prd", "slack.post_artifact")
    record(dispatcher, "commit-prd", "repo.publish_artifact")
    record(dispatcher, "card", "slack.update_card")
    record(dispatcher, "draft-tasks", "draft")
    record(dispatcher, "other-goal", "repo.publish_artifact", goal_id="G-0002")

    run(dispatcher)
    # The PRD's post waits for its retry; the card after it waits too, and so does the next draft.
    # The commit (another stream) and the other goal go on.
    assert sorted(calls) == ["commit-prd", "other-goal", "post-prd"]

    # Slack is down for 20 minutes: far more than six attempts, none of them gives up.
    for _ in range(40):
        clock.advance(seconds=30)
        run(dispatcher)
    tries = calls.count("post-prd")
    assert tries > 6
    assert rows(dispatcher)["post-prd"].status == "pending"
    assert "card" not in calls and "draft-tasks" not in calls

    slack_down = False
    clock.advance(seconds=300)
    run(dispatcher)
    after = calls[calls.index("post-prd", len(calls) - 3) :]
    assert after == ["post-prd", "card", "draft-tasks"]
    assert {k: r.status for k, r in rows(dispatcher).items()} == {
        "post-prd": "done", "commit-prd": "done", "card": "done", "draft-tasks": "done", "other-goal": "done",
    }  # fmt: skip


def test_a_rate_limit_waits_what_retry_after_says(world: tuple[EffectDispatcher, Clock]) -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

    dispatcher, clock = world

    async def limited(effect: Effect) -> None:
        response = AsyncSlackResponse(
            client=None, http_verb="POST", api_url="x", req_args={}, data={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": "45"}, status_code=429,
        )  # fmt: skip
        raise SlackApiError("ratelimited", response)

    dispatcher.register("slack.post_artifact", limited)
    record(dispatcher, "post", "slack.post_artifact")
    run(dispatcher)
    row = rows(dispatcher)["post"]
    assert row.not_before is not None and row.not_before - clock.now == timedelta(seconds=45)


def test_a_final_failure_holds_the_goal_tells_its_thread_once_and_retry_runs_it_and_what_waited(
    world: tuple[EffectDispatcher, Clock],
) -> None:
    dispatcher, clock = world
    repo_down = True
    calls = handlers(dispatcher, lambda e: repo_down and e.kind == "repo.publish_artifact")
    commit = record(dispatcher, "commit", "repo.publish_artifact")
    record(dispatcher, "done-note", "slack.thread_note", after_repo=True)

    run(dispatcher)
    for _ in range(30):  # past the two-hour horizon
        clock.advance(minutes=5)
        run(dispatcher)
    found = rows(dispatcher)
    assert found["commit"].status == "failed" and "HTTP 500" in (found["commit"].last_error or "")
    # "Done" is never said while the commit it speaks of has not been made.
    assert "done-note" not in calls and found["done-note"].status == "pending"
    notes = [r for r in found.values() if r.kind == FAILURE_NOTE]
    assert len(notes) == 1 and notes[0].status == "done" and notes[0].payload["goal"] == "G-0001"
    assert (
        notes[0].payload["retry"] == {"what": "effect", "id": commit} and "Retry" in notes[0].payload["todo"]
    )

    service = EffectsService(engine=dispatcher.engine, clock=clock, is_approver=lambda u, **_where: u == "U_APP1")
    assert [a.goal_id for a in service.needing_attention()] == ["G-0001"]
    ok, lines = outbox_report(dispatcher.engine, clock.now)
    assert not ok and any(f"effect #{commit}" in line and "orch effects retry" in line for line in lines)

    with pytest.raises(InvalidInput):
        service.retry(actor=Actor("U_STRANGER"), goal_id="G-0001")
    repo_down = False
    retried = service.retry(actor=Actor("U_APP1"), effect_id=commit)
    assert [(r.what, r.id) for r in retried] == [("effect", commit)]
    run(dispatcher)
    assert {k: r.status for k, r in rows(dispatcher).items() if r.kind != FAILURE_NOTE} == {
        "commit": "done", "done-note": "done",
    }  # fmt: skip
    assert calls[-2:] == ["commit", "done-note"]
    with Session(dispatcher.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()]
    assert actions.count("effect.failed") == 1 and actions.count("effect.retried") == 1
    assert service.needing_attention() == []


def test_a_permanent_error_fails_at_once_and_a_cancelled_goal_is_not_held(
    world: tuple[EffectDispatcher, Clock],
) -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

    dispatcher, _clock = world
    calls = handlers(dispatcher, lambda e: False)

    async def refused(effect: Effect) -> None:
        response = AsyncSlackResponse(
            client=None, http_verb="POST", api_url="x", req_args={}, data={"ok": False, "error": "invalid_blocks"},
            headers={}, status_code=200,
        )  # fmt: skip
        raise SlackApiError("invalid_blocks", response)

    dispatcher.register("slack.post_artifact", refused)
    record(dispatcher, "post", "slack.post_artifact")
    record(dispatcher, "card", "slack.update_card")
    run(dispatcher)
    assert rows(dispatcher)["post"].status == "failed" and "card" not in calls

    with transaction(dispatcher.engine) as session:
        goal = session.get(Goal, "G-0001")
        assert goal is not None
        goal.state = "cancelled"
        session.add(goal)
    run(dispatcher)
    assert rows(dispatcher)["card"].status == "done"


def test_retry_puts_a_goals_failed_agent_job_back_in_the_queue_audited(
    world: tuple[EffectDispatcher, Clock],
) -> None:
    from storage.jobs_models import Job

    dispatcher, clock = world
    with transaction(dispatcher.engine) as session:
        job = Job(
            key="draft:G-0001:prd", kind="draft", goal_id="G-0001", status="failed", attempts=3,
            last_error="the model answered 500", finished_at=START, created_at=START,
        )  # fmt: skip
        session.add(job)
        session.flush()
        job_id = job.id
    service = EffectsService(engine=dispatcher.engine, clock=clock)
    retried = service.retry(actor=Actor("U_REQ"), goal_id="G-0001")  # the requester may
    assert [(r.what, r.id) for r in retried] == [("job", job_id)]
    with Session(dispatcher.engine) as session:
        again = session.get(Job, job_id)
        assert again is not None and (again.status, again.attempts, again.finished_at) == ("queued", 0, None)
        actions = [e.action for e in session.exec(select(AuditEntry)).all()]
    assert actions == ["job.retried"]
    with pytest.raises(InvalidInput, match="has not failed"):
        service.retry(actor=Actor("U_REQ"), job_id=job_id)


def test_an_effect_waiting_for_a_person_outlasts_the_horizon_and_uses_no_attempts(
    world: tuple[EffectDispatcher, Clock],
) -> None:
    from bot.effects.dispatcher import WaitForPerson

    dispatcher, clock = world
    looks: list[int] = []

    async def probe(effect: Effect) -> None:
        looks.append(effect.attempts)
        if len(looks) < 20:
            raise WaitForPerson("a merge is in progress in the bot's checkout", delay=600)

    dispatcher.register("repo.merge", probe)
    record(dispatcher, "merge", "repo.merge")
    for _ in range(20):  # 200 minutes: past the two-hour horizon of a transient failure
        run(dispatcher)
        clock.advance(minutes=10)
    row = rows(dispatcher)["merge"]
    assert row.status == "done" and row.attempts == 1 and set(looks) == {1}
    assert not [r for r in rows(dispatcher).values() if r.kind == FAILURE_NOTE]
