"""The worker draining a full inbox: requests run per second and the worker's CPU per request.

The web process keeps `n` requests in the inbox while no worker runs (a mix, a third each: a DM to
the bot, `/orch status`, and an Approve click by someone who is not an approver, which is refused
and audited); then `k` workers start together and run them. The rate is taken over the window from
the moment every worker is ready to the moment the inbox is empty, with the workers' CPU time (and
their children's) per request in the same window: a figure the machine's other load moves little.

`drain` does this on SQLite with the one worker SQLite allows; `pg_workers` on PostgreSQL (DMs and
`/orch status` only) with 1 and 2 workers sharing the inbox (storage.inbox; on a 2-core machine the ratio of 2 to 1 worker is
bounded by the cores, which the web process, the sandbox and PostgreSQL share). `pg_workers` needs
ORCH_BENCH_POSTGRES_URL (a database the bench may create and drop schemas in); without it the
figure reports that it was skipped.

With ORCH_BENCH_PROFILE set to a folder, each drain also records the (first) worker with py-spy
(`--format raw`, 200 Hz) into that folder: the profile of the run the figure comes from.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from itertools import cycle
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import signed
from bench.fig_http import prepare_gates, send, wait_quiet
from bench.observe import wait_for
from bench.procs import Proc, cpu_seconds, python
from bench.stack import Stack
from storage.db import make_engine

KINDS = ("dm", "status", "click")


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def drain(workdir: Path, n: int, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """One worker draining a SQLite inbox of `n` requests."""
    return _one(workdir / "sqlite", None, n, 1, kinds)


def pg_workers(workdir: Path, n: int, worker_counts: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    base = os.environ.get("ORCH_BENCH_POSTGRES_URL")
    if not base:
        return {"skipped": "ORCH_BENCH_POSTGRES_URL is not set"}
    # No clicks here: the bench prepares the gates they need by watching a SQLite database.
    kinds = ("dm", "status")
    return {f"workers_{k}": _one(workdir / f"pg-{k}", base, n, k, kinds) for k in worker_counts}


def _fill(stack: Stack, n: int, kinds: tuple[str, ...], targets: list[dict[str, Any]]) -> None:
    tag = uuid.uuid4().hex[:6]
    gates = cycle(targets)
    response_url = stack.response_url
    for i, kind in zip(range(n), cycle(kinds), strict=False):
        if kind == "dm":
            body = signed.dm_event(
                f"hello there [{tag}-{i}]",
                user="U_REQ",
                event_id=f"Ev{tag}{i}",
                ts=f"{1_700_000_000 + i}.0001",
            )
        elif kind == "status":
            body = signed.slash("status", user="U_REQ", channel="C_DEV", response_url=response_url, n=i)
        else:
            t = next(gates)
            body = signed.click(
                t["value"],
                user="U_OUT",  # not an approver: refused and audited
                channel=t["channel"],
                message_ts=t["message_ts"],
                thread_ts=t["thread_ts"],
                n=i,
            )
        send(stack, body).raise_for_status()


def _one(workdir: Path, base: str | None, n: int, k: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    admin = make_engine(base) if base else None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    if admin is not None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = _with_schema(base, schema) if base else None
    workers: list[Proc] = []
    spy: subprocess.Popen[bytes] | None = None
    try:
        with Stack(workdir, extra_env={"ORCH_DATABASE_URL": url} if url else {}) as stack:
            engine = make_engine(url or f"sqlite:///{stack.db_path}")
            inbox = engine if url else make_engine(f"sqlite:///{stack.workdir / 'orch.inbox.db'}")
            targets = prepare_gates(stack, 4, "drain", timeout=60) if "click" in kinds else []
            if not url:  # the bench watches the outbox through a SQLite file
                wait_quiet(stack, 60)
            assert stack.worker is not None
            stack.worker.stop()  # the inbox fills with no worker reading it
            stack.worker = None

            def waiting() -> int:
                if url:
                    with engine.connect() as conn:
                        return int(
                            conn.execute(
                                text("SELECT count(*) FROM slack_inbox WHERE done_at IS NULL")
                            ).scalar_one()
                        )
                with inbox.connect() as conn:
                    kept = set(conn.execute(text("SELECT id FROM slack_inbox")).scalars())
                with engine.connect() as conn:
                    done = set(conn.execute(text("SELECT id FROM slack_inbox_done")).scalars())
                return len(kept - done)

            before = waiting()
            _fill(stack, n, kinds, targets)
            assert waiting() == before + n
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
            spy = _profile(workers[0].pid, workdir.name)
            left_at_start, t0 = waiting(), time.monotonic()
            cpu0 = cpu_seconds(*(w.pid for w in workers))
            wait_for(lambda: waiting() == 0 or None, timeout=600, interval=0.1, what="the inbox to empty")
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(*(w.pid for w in workers)) - cpu0
            done = left_at_start
            engine.dispose()
            inbox.dispose()
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile when interrupted
            spy.wait(30)
        for worker in workers:
            worker.stop()
        if admin is not None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
    return {
        "requests": n,
        "kinds": list(kinds),
        "measured": done,
        "seconds": round(elapsed, 2),
        "processed_per_s": round(done / elapsed, 1) if elapsed else None,
        "cpu_ms_per_req": round(cpu * 1000 / done, 3) if done else None,
    }


def _profile(pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy on the worker while it drains, when ORCH_BENCH_PROFILE names a folder (with
    ORCH_BENCH_PROFILE_GIL=1, only the thread holding the GIL is sampled)."""
    folder = os.environ.get("ORCH_BENCH_PROFILE")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not folder or not Path(spy).exists():
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = Path(folder) / f"worker-{name}-{int(time.time())}.raw"
    argv = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--threads", "-o", str(out)]
    # Sampled without stopping the worker: stopping it 200 times a second slowed the figure it was
    # taken in several-fold (a stack may now be read while it changes; over thousands that is noise).
    argv.append("--nonblocking")
    if os.environ.get("ORCH_BENCH_PROFILE_GIL"):
        argv.append("--gil")  # only the thread holding the GIL: where the process's CPU goes
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
