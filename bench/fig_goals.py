"""Goals through the whole pipeline: one at a time (latency), many at once (throughput), and many
in parallel through a model that takes 1 s per step.

"Fully processed" means: `/orch start` → goal stored with its audit entry → goal card posted →
Scaffold Check posted → the bench clicks Approve as soon as it sees it → PRD drafted and posted.
The outbox records when each post was done, so every time here is read from the database.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import signed
from bench.fig_http import prepare_gates, send, wait_quiet
from bench.fig_scale import _profile as py_spy
from bench.observe import Observer, epoch, wait_for
from bench.procs import Proc, child_env, free_port, python, run_load
from bench.stack import Stack
from bench.stats import summarize


@contextlib.contextmanager
def profiled(stack: Stack, name: str) -> Iterator[None]:
    """py-spy on the worker (the process that runs the goals) while the block runs, when
    ORCH_BENCH_PROFILE names a folder (see bench.fig_scale)."""
    spy = py_spy(stack.worker.pid, name) if stack.worker is not None else None
    try:
        yield
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile when interrupted
            spy.wait(30)


def _click(stack: Stack, target: dict[str, Any], n: int) -> None:
    send(
        stack,
        signed.click(
            target["value"],
            user="U_APP1",
            channel=target["channel"],
            message_ts=target["message_ts"],
            thread_ts=target["thread_ts"],
            n=n,
        ),
    )


def _target(row: Any) -> dict[str, Any]:
    from bot.blocks import encode_button_value

    return {
        "value": encode_button_value(row["goal_id"], row["phase"], row["version"], row["sha256"]),
        "goal_id": row["goal_id"],
        "channel": row["channel_id"],
        "message_ts": row["message_ts"],
        "thread_ts": row["thread_ts"],
    }


def _posted(observer: Observer, phase: str, goal_ids: set[str]) -> dict[str, Any]:
    return {r["goal_id"]: r for r in observer.posted_artifacts(phase) if r["goal_id"] in goal_ids}


def one_at_a_time(stack: Stack, n: int) -> dict[str, Any]:
    """n goals, each started only when the previous one is fully processed and the product is quiet."""
    observer = Observer(stack.db_path)
    response_url = stack.sandbox.base_url + "/response/bench" if stack.sandbox else ""
    parts: dict[str, list[float]] = {
        "stored": [],
        "card": [],
        "scaffold": [],
        "approve_to_prd": [],
        "total": [],
    }
    for i in range(1, n + 1):
        t0 = time.time()
        send(
            stack,
            signed.slash(
                f"start Add a CSV export of invoices [seq-{i}]",
                user="U_REQ",
                channel="C_DEV",
                response_url=response_url,
                n=i,
            ),
        )
        goal = wait_for(
            lambda i=i: observer.goals_by_tag("seq").get(f"start-{i}"),
            timeout=30,
            interval=0.005,
            what="the goal",
        )
        scaffold = wait_for(
            lambda g=goal: _posted(observer, "scaffold_check", {g["id"]}).get(g["id"]),
            timeout=60,
            interval=0.005,
            what="the Scaffold Check",
        )
        t_click = time.time()
        _click(stack, _target(scaffold), i)
        prd = wait_for(
            lambda g=goal: _posted(observer, "prd", {g["id"]}).get(g["id"]),
            timeout=60,
            interval=0.005,
            what="the PRD",
        )
        card = observer.scalar(
            "SELECT done_at FROM effects WHERE kind = 'slack.post_card' AND goal_id = ?", goal["id"]
        )
        parts["stored"].append(epoch(goal["created_at"]) - t0)
        parts["card"].append((epoch(card) or t0) - t0)
        parts["scaffold"].append(epoch(scaffold["posted_at"]) - t0)
        parts["approve_to_prd"].append(epoch(prd["posted_at"]) - t_click)
        parts["total"].append(epoch(prd["posted_at"]) - t0)
        wait_quiet(stack, 60)
    return {name: summarize(values) for name, values in parts.items()}


def burst(stack: Stack, n: int, window: float) -> dict[str, Any]:
    """n goals started at once (10 clients); each Scaffold Check approved as soon as it is posted.

    Throughput = PRDs posted / seconds from the first start to the last PRD (within `window`).
    """
    with profiled(stack, f"goals-burst-{n}"):
        return _burst(stack, n, window)


def _burst(stack: Stack, n: int, window: float) -> dict[str, Any]:
    observer = Observer(stack.db_path)
    t0 = time.time()
    load = run_load(
        {
            "url": stack.url,
            "secret": stack.secret,
            "concurrency": 10,
            "count": n,
            "mix": [{"kind": "start"}],
            "response_url": stack.sandbox.base_url + "/response/bench",
            "tag": "burst",
        }
    )
    clicked: set[str] = set()
    deadline = t0 + window
    prds: dict[str, Any] = {}
    goal_ids: set[str] = set()
    k = 0
    while time.time() < deadline:
        if len(goal_ids) < n:  # handlers store goals after their ack: look again until all are there
            goal_ids = {g["id"] for g in observer.goals_by_tag("burst").values()}
        for goal_id, row in _posted(observer, "scaffold_check", goal_ids - clicked).items():
            k += 1
            _click(stack, _target(row), 100_000 + k)
            clicked.add(goal_id)
        prds = _posted(observer, "prd", goal_ids)
        if len(prds) >= n:
            break
        time.sleep(0.05)

    def rate(rows: list[Any]) -> tuple[float, float | None]:
        times = sorted(t for r in rows if (t := epoch(r["posted_at"])) is not None and t <= deadline)
        span = (times[-1] - t0) if times else window
        return round(span, 2), (round(len(times) / span, 2) if span > 0 else None)

    seconds, per_s = rate(list(prds.values()))
    scaffolds = list(_posted(observer, "scaffold_check", goal_ids).values())
    _, scaffold_per_s = rate(scaffolds)
    return {
        "started": len(goal_ids),
        "acked": len(load["latencies"].get("start", [])),
        "errors": load["error_count"],
        "completed": len(prds),
        "window_s": window,
        "seconds": seconds,
        "per_s": per_s,
        # The first stage alone (start → Scaffold Check posted), for where the time goes.
        "scaffold_posted": len(scaffolds),
        "scaffold_per_s": scaffold_per_s,
        "ack": summarize(load["latencies"].get("start", [])),
        "left": observer.pending_work(),
    }


def goals_processed(workdir: Path, sequential: int, burst_n: int, window: float) -> dict[str, Any]:
    with Stack(workdir / "orch-goals") as stack:
        seq = one_at_a_time(stack, sequential)
        wait_quiet(stack, 60)
        many = burst(stack, burst_n, window)
    return {"one_at_a_time": seq, "burst": many}


def parallel_goals(workdir: Path, sizes: tuple[int, ...], delay: float) -> dict[str, Any]:
    """Wall time from approving N Scaffold Checks at once to N PRDs posted, each PRD one model step."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    model = Proc(
        "model",
        python("-m", "bench.model_server", "--port", str(port), "--delay", str(delay)),
        child_env(),
        workdir / "model.log",
    ).start()
    out: dict[str, Any] = {"delay_s": delay, "sizes": list(sizes), "runs": {}}
    try:
        model.wait_http(f"http://127.0.0.1:{port}/healthz")
        env = {
            "ORCH_AGENT_BACKEND": "openai",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
            "ORCH_OPENAI_API": "chat_completions",
            "ORCH_DRAFTER_MODEL": "bench-scripted",
            # As many drafting jobs at once as goals approved at once: the figure asks whether N
            # drafts overlap, which they cannot beyond the configured number of parallel jobs.
            "ORCH_MAX_PARALLEL_JOBS": str(max(sizes)),
        }
        with Stack(workdir / "orch-parallel", extra_env=env) as stack:
            observer = Observer(stack.db_path)
            out["max_parallel_jobs"] = int(stack.extra_env.get("ORCH_MAX_PARALLEL_JOBS", "10"))
            for size in sizes:
                targets = prepare_gates(stack, size, f"par{size}", timeout=60 + size * 2)
                wait_quiet(stack, 60)
                calls_before = len(httpx.get(f"http://127.0.0.1:{port}/stats").json()["calls"])
                with (
                    profiled(stack, f"goals-parallel-{size}")
                    if size == max(sizes)
                    else contextlib.nullcontext()
                ):
                    t0 = time.time()
                    with concurrent.futures.ThreadPoolExecutor(max_workers=min(size, 20)) as pool:
                        list(pool.map(lambda t: _click(stack, t[1], 200_000 + t[0]), enumerate(targets)))
                    ids = {t["goal_id"] for t in targets}
                    prds = wait_for(
                        lambda ids=ids: (p := _posted(observer, "prd", ids)) and len(p) >= len(ids) and p,
                        timeout=60 + size * delay * 2,
                        interval=0.02,
                        what=f"{size} PRDs",
                    )
                last = max(epoch(r["posted_at"]) for r in prds.values())
                calls = httpx.get(f"http://127.0.0.1:{port}/stats").json()["calls"][calls_before:]
                out["runs"][size] = {"wall_s": round(last - t0, 3), "model_calls": len(calls)}
                wait_quiet(stack, 60)
    finally:
        model.stop()
    base = out["runs"].get(sizes[0], {}).get("wall_s")
    for run in out["runs"].values():
        run["ratio"] = round(run["wall_s"] / base, 2) if base else None
    return out
