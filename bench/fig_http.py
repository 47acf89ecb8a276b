"""Figures over HTTP: ack latency against both baselines, and sustained mixed interactions.

Every request is signed and sent by the load generator in its own process (bench.load). The
baselines run in their own processes for the whole figure; the product gets a fresh `orch serve`
per `/orch start` level, so the work queued by one level does not slow the next.
"""

from __future__ import annotations

import os
import resource
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import signed
from bench.observe import Observer, wait_for
from bench.procs import Proc, child_env, cpu_seconds, free_port, python, run_load
from bench.stack import BOT_TOKEN, Sandbox, Stack
from bench.stats import summarize

LEVELS = (1, 20, 50)


@contextmanager
def baselines(workdir: Path, secret: str) -> Iterator[dict[str, str]]:
    """Both baselines (and a sandbox for the Bolt app's one auth.test), each in its own process."""
    sandbox = Sandbox(workdir, secret).start()
    procs: dict[str, Proc] = {}
    urls: dict[str, str] = {}
    try:
        for name in ("starlette", "bolt"):
            port = free_port()
            env = child_env(
                SLACK_SIGNING_SECRET=secret, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=sandbox.api_url
            )
            procs[name] = Proc(
                name,
                python("-m", "bench.apps", name, "--port", str(port)),
                env,
                workdir / f"baseline-{name}.log",
            ).start()
            procs[name].wait_http(f"http://127.0.0.1:{port}/healthz")
            urls[name] = f"http://127.0.0.1:{port}/slack/events"
        urls["response_url"] = sandbox.base_url + "/response/bench"
        urls["pid:bolt"] = str(procs["bolt"].pid)
        urls["pid:starlette"] = str(procs["starlette"].pid)
        yield urls
    finally:
        for proc in procs.values():
            proc.stop()
        sandbox.stop()


def _spec(
    url: str,
    secret: str,
    concurrency: int,
    count: int,
    mix: list[dict[str, Any]],
    response_url: str,
    tag: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "url": url,
        "secret": secret,
        "concurrency": concurrency,
        "count": count,
        "mix": mix,
        "response_url": response_url,
        "tag": tag,
        **extra,
    }


@dataclass
class Series:
    """Requests of one kind to one server, gathered over several rounds of the load generator."""

    kind: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, result: dict[str, Any], cpu_s: float) -> None:
        self.latencies += result["latencies"].get(self.kind, [])
        self.errors += result["error_count"]
        self.wall_s += result["wall_s"]
        self.cpu_s += cpu_s
        for status, n in result["statuses"].get(self.kind, {}).items():
            self.statuses[status] = self.statuses.get(status, 0) + n

    def summary(self) -> dict[str, Any]:
        n = len(self.latencies)
        return {
            **summarize(self.latencies),
            "errors": self.errors,
            "statuses": self.statuses,
            "per_s": round(n / self.wall_s) if self.wall_s else None,
            # CPU of the server process (and its children) per answered request, during the load:
            # a figure the machine's noise moves much less than latency.
            "cpu_ms_per_req": round(self.cpu_s * 1000 / n, 3) if n else None,
        }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load(series: Series, pids: tuple[int, ...], spec: dict[str, Any]) -> None:
    before = cpu_seconds(*pids)
    result = run_load(spec)
    series.add(result, cpu_seconds(*pids) - before)


# -- preparing goals whose first artifact awaits a decision -------------------------------------


_CLIENTS: dict[str, httpx.Client] = {}


def send(stack: Stack, body_ctype: tuple[bytes, str]) -> httpx.Response:
    """One signed request from the harness, over a kept-alive connection (as Slack keeps them)."""
    body, ctype = body_ctype
    client = _CLIENTS.get(stack.url)
    if client is None:
        client = _CLIENTS[stack.url] = httpx.Client(timeout=10)
    return client.post(stack.url, content=body, headers=signed.headers(stack.secret.encode(), body, ctype))


def prepare_gates(stack: Stack, n: int, tag: str, timeout: float) -> list[dict[str, Any]]:
    """Start n goals over HTTP and wait until each one's Scaffold Check is posted with its buttons."""
    from bot.blocks import encode_button_value

    response_url = stack.sandbox.base_url + "/response/bench" if stack.sandbox else ""
    for i in range(1, n + 1):
        text = f"start Add a CSV export of invoices for the finance team [{tag}-{i}]"
        send(stack, signed.slash(text, user="U_REQ", channel="C_DEV", response_url=response_url, n=i))
    observer = Observer(stack.db_path)

    def ready() -> list[Any] | None:
        rows = [r for r in observer.posted_artifacts("scaffold_check") if f"[{tag}-" in r["brief"]]
        return rows if len(rows) >= n else None

    rows = wait_for(ready, timeout=timeout, interval=0.2, what=f"{n} Scaffold Checks posted")
    return [
        {
            "value": encode_button_value(r["goal_id"], r["phase"], r["version"], r["sha256"]),
            "goal_id": r["goal_id"],
            "channel": r["channel_id"],
            "message_ts": r["message_ts"],
            "thread_ts": r["thread_ts"],
        }
        for r in rows
    ]


def _queued_in_inbox(stack: Stack) -> int:
    """Requests in the web process's inbox that the worker has not finished."""
    import sqlite3

    with sqlite3.connect(stack.workdir / "orch.inbox.db") as inbox, sqlite3.connect(stack.db_path) as main:
        kept = {row[0] for row in inbox.execute("SELECT id FROM slack_inbox")}
        done = {row[0] for row in main.execute("SELECT id FROM slack_inbox_done")}
    return len(kept - done)


def wait_quiet(stack: Stack, timeout: float) -> dict[str, int]:
    """Wait (bounded) until the product has no effect or job left; return what is left, if anything."""
    observer = Observer(stack.db_path)
    try:
        wait_for(lambda: not observer.pending_work() or None, timeout=timeout, interval=0.2, what="quiet")
    except TimeoutError:
        return observer.pending_work()
    return {}


# -- the figures ---------------------------------------------------------------------------------


def ack_latency(workdir: Path, counts: dict[int, int], gates: int, rounds: int = 3) -> dict[str, Any]:
    """p50/p99 of the answer to `/orch start` and to an Approve click at each level of concurrency.

    Each level runs in `rounds` rounds, and every round visits the five servers in turn (bare
    Starlette, bare Bolt with the `/orch` body, bare Bolt with the click body, orch start, orch
    click), so a burst of noise on the machine lands on all of them rather than on one.
    """
    keys = ("starlette", "bolt", "bolt_click", "orch_start", "orch_click")
    out: dict[str, Any] = {
        "levels": list(LEVELS),
        "counts": counts,
        "rounds": rounds,
        **{k: {} for k in keys},
    }
    secret = "bench-" + str(int(time.time()))
    (workdir / "baselines").mkdir(parents=True, exist_ok=True)
    with baselines(workdir / "baselines", secret) as b, Stack(workdir / "orch-click") as click_stack:
        targets = prepare_gates(click_stack, gates, "gate", timeout=30 + gates * 3)
        wait_quiet(click_stack, 60)
        click_mix = [{"kind": "click", "targets": targets}]
        for level in LEVELS:
            chunk = max(50, counts[level] // rounds)
            series = {
                "starlette": Series("ping"),
                "bolt": Series("start"),
                "bolt_click": Series("click"),
                "orch_start": Series("start"),
                "orch_click": Series("click"),
            }
            # A fresh `orch serve` per level for starts: the goals one level queues stay out of the next.
            with Stack(workdir / f"orch-start-{level}") as stack:
                assert stack.bot is not None and click_stack.bot is not None
                runs = [
                    (
                        "starlette",
                        (int(b["pid:starlette"]),),
                        b["starlette"],
                        secret,
                        [{"kind": "ping"}],
                        b["response_url"],
                    ),
                    (
                        "bolt",
                        (int(b["pid:bolt"]),),
                        b["bolt"],
                        secret,
                        [{"kind": "start"}],
                        b["response_url"],
                    ),
                    ("bolt_click", (int(b["pid:bolt"]),), b["bolt"], secret, click_mix, b["response_url"]),
                    (
                        "orch_start",
                        stack.pids,
                        stack.url,
                        stack.secret,
                        [{"kind": "start"}],
                        stack.response_url,
                    ),
                    (
                        "orch_click",
                        click_stack.pids,
                        click_stack.url,
                        click_stack.secret,
                        click_mix,
                        click_stack.response_url,
                    ),
                ]
                workers = {"orch_start": stack.worker, "orch_click": click_stack.worker}
                for r in range(rounds):
                    for key, pid, url, sec, mix, response_url in runs:
                        with _paused(workers.get(key)):
                            _load(
                                series[key],
                                pid,
                                _spec(url, sec, level, chunk, mix, response_url, f"{key}{level}x{r}"),
                            )
            for key in keys:
                out[key][level] = series[key].summary()
            out.setdefault("click_backlog", {})[level] = wait_quiet(click_stack, 30)
    return out


@contextmanager
def _paused(worker: Proc | None) -> Iterator[None]:
    """With ORCH_BENCH_PAUSE_WORKER=1, `orch worker` is stopped (SIGSTOP) while the web process is
    measured, so the acks do not share the cores with the work they queue; resumed afterwards."""
    if worker is None or not os.environ.get("ORCH_BENCH_PAUSE_WORKER"):
        yield
        return
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(worker.pid, signal.SIGCONT)


MIX = [
    {"kind": "start", "weight": 1},
    {"kind": "status", "weight": 3},
    {"kind": "click", "weight": 3},
    {"kind": "dm", "weight": 3},
]


def sustained(
    workdir: Path, seconds: float, rate: float, inflight: int, gates: int, catch_up: float = 240
) -> dict[str, Any]:
    """Mixed signed traffic offered at `rate` per second for `seconds` (an open loop, as Slack
    delivers, at most `inflight` unanswered); then every interaction is looked for in the database.

    Clicks come from a person who is not an approver, so each one is refused and audited: every
    click leaves exactly one `decision.refused` entry to count. `/orch status` is answered in the
    ack itself. A DM leaves its event id in `processed_deliveries`; a start leaves a goal.
    """
    with Stack(workdir / "orch-sustained") as stack:
        targets = [
            {**t, "user": "U_OUT"} for t in prepare_gates(stack, gates, "gate", timeout=30 + gates * 3)
        ]
        wait_quiet(stack, 60)
        mix = [{**m, "targets": targets} if m["kind"] == "click" else m for m in MIX]
        observer = Observer(stack.db_path)
        refused_before = observer.scalar("SELECT count(*) FROM audit_log WHERE action = 'decision.refused'")
        # Everything the worker runs, not only the state-changing kinds counted below (a status too).
        inbox_done_before = observer.scalar("SELECT count(*) FROM slack_inbox_done") if stack.split else 0
        worker_cpu_before = cpu_seconds(*stack.pids[1:]) if stack.split else 0.0
        assert stack.bot is not None
        web_before, work_before = cpu_seconds(stack.bot.pid), cpu_seconds(*stack.pids[1:])
        assert stack.sandbox is not None and stack.sandbox.proc is not None
        sandbox_before = cpu_seconds(stack.sandbox.proc.pid)
        load_before = _children_cpu()
        result = run_load(
            {
                "url": stack.url,
                "secret": stack.secret,
                "concurrency": inflight,
                "rate": rate,
                "duration": seconds,
                "mix": mix,
                "response_url": stack.sandbox.base_url + "/response/bench",
                "tag": "mix",
            }
        )
        web_cpu = cpu_seconds(stack.bot.pid) - web_before
        work_cpu = cpu_seconds(*stack.pids[1:]) - work_before
        cpu = web_cpu + work_cpu
        # Where the machine's cores went during the load: the bot, the sandbox standing in for
        # Slack (on the same machine here, unlike production), and the load generator.
        cores = {
            "orch web" if stack.split else "orch": web_cpu,
            **({"orch worker": work_cpu} if stack.split else {}),
            "sandbox": cpu_seconds(stack.sandbox.proc.pid) - sandbox_before,
            "load_generator": _children_cpu() - load_before,
        }
        done_at = time.time()
        sent = {
            k: sum(1 for key in result["sent"] if key.startswith(k + "-")) for k in ("start", "click", "dm")
        }
        acked = {k: len(v) for k, v in result["latencies"].items()}

        def processed() -> dict[str, int]:
            return {
                "start": len(observer.goals_by_tag("mix")),
                "click": (
                    observer.scalar("SELECT count(*) FROM audit_log WHERE action = 'decision.refused'")
                    - refused_before
                ),
                "dm": observer.scalar(
                    "SELECT count(*) FROM processed_deliveries WHERE key LIKE 'event:Evmix%'"
                ),
            }

        with suppress(TimeoutError):
            wait_for(
                lambda: all(processed()[k] >= sent[k] for k in sent) or None,
                timeout=catch_up,
                interval=0.5,
                what="every interaction processed",
            )
        seen = processed()
        caught_up = time.time() - done_at
        # The worker's CPU per request it ran, over the load and the catch-up: the figure the
        # machine's noise moves least (CPU time, not wall time).
        inbox_done = (
            observer.scalar("SELECT count(*) FROM slack_inbox_done") - inbox_done_before if stack.split else 0
        )
        worker_cpu = cpu_seconds(*stack.pids[1:]) - worker_cpu_before if stack.split else 0.0
        queued = _queued_in_inbox(stack) if stack.split else None
        total = sum(acked.values())
    return {
        "seconds": round(result["wall_s"], 2),
        "offered_per_s": rate,
        "inflight": inflight,
        "behind_schedule_s": result.get("behind_schedule_s"),
        "acked": acked,
        "sent": sent,
        "processed": seen,
        "lost": {k: sent[k] - seen[k] for k in sent},
        "errors": result["error_count"],
        "error_samples": result["errors"][:5],
        "per_s": round(total / result["wall_s"]),
        "caught_up_s": round(caught_up, 1),
        # Requests the web process kept that the worker has not run yet (kept, not dropped).
        "queued_in_inbox": queued,
        "processed_per_s": round(sum(seen.values()) / (result["wall_s"] + caught_up), 1),
        "worker_ran": inbox_done,
        "worker_ran_per_s": round(inbox_done / (result["wall_s"] + caught_up), 1),
        "worker_cpu_ms_per_interaction": round(worker_cpu * 1000 / inbox_done, 3) if inbox_done else None,
        "cpu_ms_per_req": round(cpu * 1000 / total, 3) if total else None,
        "cpu_s": {k: round(v, 1) for k, v in cores.items()},
        "latency": {k: summarize(v) for k, v in result["latencies"].items()},
    }
