"""Agent work is a job added in its goal's order, on real databases.

A use case records a draft or a build in its own transaction like any effect; it becomes a row of
the jobs table that a worker claims only once the goal's commits recorded before it are made (its
messages are posted in their own lane), and the Scaffold Check's job holds back the goal's later
commits (not its posts) until it has looked. A database written by an earlier version, with "draft" effects still pending, is
upgraded into the same jobs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.effects.dispatcher import REPO, SLACK, EffectDispatcher
from bot.jobs import queue
from bot.services.unit import add_effect
from bot.sop.effect_kinds import Draft, PostCard, PublishState
from storage.db import make_engine, transaction
from storage.jobs_models import Job
from storage.migrate import upgrade
from storage.models import Effect

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
GOAL = "G-0001"


def _record(engine: Engine, *payloads: tuple[str, object]) -> None:
    with transaction(engine) as session:
        for key, payload in payloads:
            add_effect(session, key=key, goal_id=GOAL, now=T0, payload=payload)  # type: ignore[arg-type]


def _finish(engine: Engine, key: str) -> None:
    with transaction(engine) as session:
        row = session.exec(select(Effect).where(Effect.key == key)).one()
        row.status, row.done_at = "done", T0
        session.add(row)


def _claim(engine: Engine) -> list[str]:
    return [job.key for job in queue.claim(engine, now=T0, worker="w", limit=5, max_attempts=5)]


def test_a_draft_is_a_job_that_starts_once_the_commits_recorded_before_it_are_made(engine: Engine) -> None:
    _record(
        engine,
        ("card", PostCard()),
        ("start", PublishState()),
        ("approved", PublishState()),
        ("draft:prd", Draft(phase="prd")),
        ("after", PublishState()),
    )
    with Session(engine) as session:
        assert session.exec(select(Effect).where(Effect.key == "draft:prd")).first() is None
        job = session.exec(select(Job).where(Job.key == "draft:prd")).one()
        assert (job.kind, job.status, job.in_order, job.description) == (
            "draft",
            "queued",
            False,
            "Drafting the PRD (v1)",
        )
    assert not queue.any_due(engine, now=T0)
    assert _claim(engine) == []
    _finish(engine, "start")
    assert _claim(engine) == []  # the approval's commit is still to be made
    _finish(engine, "approved")  # the card is not waited for, nor the commit recorded after it
    assert queue.any_due(engine, now=T0)
    [claimed] = queue.claim(engine, now=T0, worker="w", limit=5, max_attempts=5)
    assert (claimed.key, claimed.max_attempts) == ("draft:prd", 5)  # the worker's setting


def test_recording_the_same_work_twice_adds_one_job(engine: Engine) -> None:
    _record(engine, ("draft:prd", Draft(phase="prd")))
    with transaction(engine) as session:
        again = add_effect(session, key="draft:prd", goal_id=GOAL, now=T0, payload=Draft(phase="prd"))
    assert again is False
    with Session(engine) as session:
        assert len(session.exec(select(Job)).all()) == 1


def test_the_scaffold_check_holds_the_goals_later_commits_but_not_its_posts(engine: Engine) -> None:
    _record(
        engine,
        ("card", PostCard()),
        ("draft:scaffold", Draft(phase="scaffold_check")),
        ("start", PublishState()),
    )
    dispatcher = EffectDispatcher(engine=engine, clock=lambda: T0)
    lanes = dispatcher._due_lanes(exclude=set())
    assert {stream: [e.key for e in run] for (_g, stream), run in lanes.items()} == {SLACK: ["card"]}
    assert dispatcher._held
    # The check reads the repository only: it does not wait for the card's post.
    [job] = queue.claim(engine, now=T0, worker="w", limit=5)
    assert job.key == "draft:scaffold"
    assert queue.succeed(engine, job, now=T0)
    lanes = dispatcher._due_lanes(exclude=set())
    assert {stream: [e.key for e in run] for (_g, stream), run in lanes.items()} == {
        SLACK: ["card"],
        REPO: ["start"],
    }
    assert not dispatcher._held


def test_pending_draft_effects_of_an_earlier_version_become_jobs_when_upgraded(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0015_budgets")
    effects = sa.table(
        "effects",
        *(sa.column(c) for c in ("id", "key", "kind", "goal_id", "status", "attempts", "created_at")),
        sa.column("payload", sa.JSON),
    )
    rows = [
        ("card", "slack.post_card", {}, "pending"),
        ("draft:G-0001:scaffold_check", "draft", {"phase": "scaffold_check"}, "pending"),
        ("build:G-0001:2:1", "build", {"task_id": 2}, "done"),
    ]
    with engine.begin() as conn:
        for i, (key, kind, payload, status) in enumerate(rows, 1):
            conn.execute(
                effects.insert().values(
                    id=i, key=key, kind=kind, goal_id=GOAL, payload=payload, status=status, attempts=0,
                    created_at=T0.replace(tzinfo=None),
                )
            )
    upgrade(engine)
    with Session(engine) as session:
        jobs = session.exec(select(Job)).all()
        assert [(j.key, j.kind, j.status, j.follows, j.in_order, j.phase) for j in jobs] == [
            ("draft:G-0001:scaffold_check", "draft", "queued", 1, True, "scaffold_check")
        ]
        draft = session.exec(select(Effect).where(Effect.kind == "draft")).one()
        assert draft.status == "done"
    engine.dispose()
