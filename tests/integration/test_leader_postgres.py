"""Two `orch serve` replicas on one PostgreSQL: one scheduler leader, 50 jobs each run once, failover.

Both processes share a fresh schema, one sandbox workspace and one target repository. Slash
commands go to either replica; agent jobs are claimed with FOR UPDATE SKIP LOCKED by both.
Killing the leader with SIGKILL ends its session, PostgreSQL drops its advisory lock, and the
other replica starts the scheduler (its ticks show in `orch_leader.last_tick_at`).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.local.stack import SANDBOX_BOT_TOKEN
from sandbox import Sandbox
from storage.db import make_engine
from storage.jobs_models import Job, LeaderLease
from storage.locks import SCHEDULER, lock_namespace
from storage.migrate import upgrade
from storage.models import Goal
from tests.integration.jobs_support import audit_actions, serve_env, until, wait_healthy, write_config
from tests.support.processes import OrchProcess, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
JOBS = 50
CONFIG = """
[jobs]
leader_poll_seconds = 0.3
poll_seconds = 0.1
heartbeat_seconds = 0.5
lease_seconds = 10
sweep_seconds = 0.5
[digest]
enabled = false  # the wall clock decides whether one is due; not what this test is about
"""


@pytest.fixture
def pg(postgres_url: str) -> Iterator[str]:
    """A fresh schema; the URL points its search_path there."""
    schema = f"leader_test_{uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _leader_pid(engine: Engine) -> int | None:
    with Session(engine) as session:
        row = session.get(LeaderLease, "scheduler")
        return row.pid if row else None


def _lock_holders(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :ns AND objid = 0"
                ),
                {"ns": lock_namespace(engine, SCHEDULER)},
            ).scalar_one()
        )


def test_two_replicas_one_leader_fifty_jobs_once_each_and_failover(
    pg: str, tmp_path: Path, target_repo: Path
) -> None:
    engine = make_engine(pg)
    upgrade(engine)  # once, before the replicas start (see docs/DEPLOY.md)
    secret = secrets.token_hex(16)
    config = write_config(tmp_path, CONFIG)
    with Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN) as sb:
        ports = [free_port(), free_port()]
        replicas = [
            OrchProcess(
                ["serve"],
                serve_env(
                    api_url=sb.api_url,
                    secret=secret,
                    token=SANDBOX_BOT_TOKEN,
                    port=port,
                    database_url=pg,
                    repo=target_repo,
                    config=config,
                ),
            ).start()
            for port in ports
        ]
        try:
            for replica, port in zip(replicas, ports, strict=True):
                replica.wait_for_line("orch ready")
                wait_healthy(port)
            pids = [r.proc.pid for r in replicas if r.proc is not None]
            leader = until(lambda: _leader_pid(engine), timeout=10, what="a leader")
            assert leader in pids and _lock_holders(engine) == 1

            # 50 goals, every other one through each replica: 50 agent jobs for two workers.
            for i in range(JOBS):
                sb.request_url = f"http://127.0.0.1:{ports[i % 2]}/slack/events"
                assert sb.slash("U_REQ", "C_DEV", f"start Export report number {i}").status == 200

            def all_done() -> bool:
                with Session(engine) as session:
                    jobs = session.exec(select(Job)).all()
                return len(jobs) == JOBS and all(j.status == "succeeded" for j in jobs)

            until(all_done, timeout=120, what="the 50 jobs to succeed")
            with Session(engine) as session:
                jobs = session.exec(select(Job)).all()
                goals = session.exec(select(Goal)).all()
            assert len(goals) == JOBS and all(j.attempts == 1 for j in jobs)
            started = Counter(p["job"] for _, p in audit_actions(engine, prefix="job.started"))
            assert len(started) == JOBS and set(started.values()) == {1}  # no job ran twice
            assert Counter(p["job"] for _, p in audit_actions(engine, prefix="job.succeeded")) == started
            ran_in = Counter(int(j.worker.split(":")[1]) for j in jobs if j.worker)
            assert set(ran_in) == set(pids), ran_in  # both replicas ran jobs
            # Interactions through either replica, and the shared outbox posted each card once.
            until(lambda: len(sb.messages("C_DEV")) >= JOBS, timeout=60, what="50 goal cards")
            cards = Counter(g.id for g in goals for m in sb.messages("C_DEV") if m.ts == g.card_ts)
            assert len(sb.messages("C_DEV")) == JOBS and set(cards.values()) == {1}

            # Kill the leader; the other replica takes the lock and its scheduler starts ticking.
            survivor = next(r for r in replicas if r.proc is not None and r.proc.pid != leader)
            victim = next(r for r in replicas if r.proc is not None and r.proc.pid == leader)
            assert victim.proc is not None and survivor.proc is not None
            killed_at, started_wait = datetime.now(UTC), time.monotonic()
            victim.proc.kill()
            victim.proc.wait(10)

            def took_over() -> bool:
                with Session(engine) as session:
                    row = session.get(LeaderLease, "scheduler")
                return bool(
                    row and row.pid == survivor.proc.pid and row.last_tick_at and row.last_tick_at > killed_at
                )

            until(took_over, timeout=15, what="the survivor to lead and its scheduler to tick")
            failover = time.monotonic() - started_wait
            assert failover < 10 and _lock_holders(engine) == 1
            # The survivor still serves interactions and runs jobs.
            sb.request_url = f"http://127.0.0.1:{ports[replicas.index(survivor)]}/slack/events"
            assert sb.slash("U_REQ", "C_DEV", "start One more after the failover").status == 200
            until(
                lambda: (j := _job_of(engine, f"G-{JOBS + 1:04d}")) is not None and j.status == "succeeded",
                timeout=30,
                what="a job after the failover",
            )
            print(f"failover took {failover:.2f}s; jobs per replica {dict(ran_in)}")
        finally:
            for replica in replicas:
                replica.stop()
    engine.dispose()


def _job_of(engine: Engine, goal_id: str) -> Job | None:
    with Session(engine) as session:
        return session.exec(select(Job).where(Job.goal_id == goal_id)).first()
