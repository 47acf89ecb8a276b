"""Memory of an idle `orch serve` and the wall time of `orch --help`, each next to a bare reference."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.procs import ROOT, Proc, child_env, free_port, python, rss_mb
from bench.stack import BOT_TOKEN, Sandbox, Stack

EAGER = "import slack_bolt, slack_sdk, agents, mcp, sqlmodel, apscheduler, uvicorn, starlette"


def _wall(argv: list[str], runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, env=child_env(), capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed: {done.stderr.decode()[-500:]}")
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3), "runs": runs}


def help_time(runs: int) -> dict[str, Any]:
    return {
        "orch_help": _wall(python("-m", "bot", "--help"), runs),
        "python_bare": _wall(python("-c", "pass"), runs),
        "eager_imports": _wall(python("-c", EAGER), max(1, runs // 2)),
    }


def idle_rss(workdir: Path, settle: float) -> dict[str, Any]:
    """RSS after `settle` seconds of idling: `orch serve`, and a bare Bolt app served the same way."""
    with Stack(workdir / "orch-idle", split=False) as stack:
        assert stack.bot is not None
        time.sleep(settle)  # idle on purpose: the figure is the memory of a process doing nothing
        orch = rss_mb(stack.bot.pid)
    with Stack(workdir / "orch-idle-split") as stack:  # the web/worker layout, for the note
        time.sleep(settle)
        web, worker = (rss_mb(pid) for pid in stack.pids)
    sandbox = Sandbox(workdir, "rss-secret").start()
    try:
        port = free_port()
        env = child_env(
            SLACK_SIGNING_SECRET="rss-secret", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=sandbox.api_url
        )
        bolt = Proc(
            "bolt", python("-m", "bench.apps", "bolt", "--port", str(port)), env, workdir / "rss-bolt.log"
        ).start()
        try:
            bolt.wait_http(f"http://127.0.0.1:{port}/healthz")
            time.sleep(settle)
            bare = rss_mb(bolt.pid)
        finally:
            bolt.stop()
    finally:
        sandbox.stop()
    return {
        "orch_mb": round(orch, 1),
        "bolt_mb": round(bare, 1),
        "web_mb": round(web, 1),
        "worker_mb": round(worker, 1),
        "settle_s": settle,
    }
