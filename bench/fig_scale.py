"""Scale-out on PostgreSQL: requests processed per second by 1 and by 2 `orch worker` processes.

The web process keeps `n` direct messages in the shared inbox (PostgreSQL) while no worker runs;
then `k` workers start together and claim from it (storage.inbox). The figure is the rate over the
window from the moment every worker is ready to the moment the inbox is empty, with the workers'
CPU time per request in the same window (on a 2-core machine the ratio of 2 to 1 worker is bounded
by the cores, which the web process, the sandbox and PostgreSQL share).

Needs ORCH_BENCH_POSTGRES_URL (a database the bench may create and drop schemas in); without it the
figure reports that it was skipped.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import signed
from bench.fig_http import send
from bench.observe import wait_for
from bench.procs import Proc, cpu_seconds, python
from bench.stack import Stack
from storage.db import make_engine


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def pg_workers(workdir: Path, n: int, worker_counts: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    base = os.environ.get("ORCH_BENCH_POSTGRES_URL")
    if not base:
        return {"skipped": "ORCH_BENCH_POSTGRES_URL is not set"}
    return {f"workers_{k}": _one(workdir / f"pg-{k}", base, n, k) for k in worker_counts}


def _one(workdir: Path, base: str, n: int, k: int) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = _with_schema(base, schema)
    engine = make_engine(url)
    workers: list[Proc] = []
    try:
        with Stack(workdir, extra_env={"ORCH_DATABASE_URL": url}) as stack:
            assert stack.worker is not None
            stack.worker.stop()  # the inbox fills with no worker reading it
            stack.worker = None
            tag = uuid.uuid4().hex[:6]
            for i in range(n):
                body = signed.dm_event(
                    f"hello there [{tag}-{i}]",
                    user="U_REQ",
                    event_id=f"Ev{tag}{i}",
                    ts=f"{1_700_000_000 + i}.0001",
                )
                response = send(stack, body)
                response.raise_for_status()

            def waiting() -> int:
                with engine.connect() as conn:
                    return int(
                        conn.execute(
                            text("SELECT count(*) FROM slack_inbox WHERE done_at IS NULL")
                        ).scalar_one()
                    )

            assert waiting() == n
            env = {**stack.env, "ORCH_LOG_LEVEL": "INFO"}
            workers = [
                Proc(
                    f"orch worker {i}",
                    ["nice", "-n", "10", *python("-m", "bot", "worker")],
                    env,
                    workdir / f"worker-{i}.log",
                ).start()
                for i in range(k)
            ]
            for worker in workers:
                worker.wait_log("orch worker ready")
            left_at_start, t0 = waiting(), time.monotonic()
            cpu0 = cpu_seconds(*(w.pid for w in workers))
            wait_for(lambda: waiting() == 0 or None, timeout=600, interval=0.1, what="the inbox to empty")
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(*(w.pid for w in workers)) - cpu0
            done = left_at_start
    finally:
        for worker in workers:
            worker.stop()
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
    return {
        "requests": n,
        "measured": done,
        "seconds": round(elapsed, 2),
        "processed_per_s": round(done / elapsed, 1) if elapsed else None,
        "cpu_ms_per_req": round(cpu * 1000 / done, 3) if done else None,
    }
