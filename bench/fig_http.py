"""Figures over HTTP: ack latency against both baselines, and sustained mixed interactions.

Every request is signed and sent by the load generator in its own process (bench.load). The
baselines run in their own processes for the whole figure; the product gets a fresh `orch serve`
per `/orch start` level, so the work queued by one level does not slow the next.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from bench import signed
from bench.observe import Observer, wait_for
from bench.procs import Proc, child_env, free_port, python, run_load
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


def _summary(result: dict[str, Any], kind: str) -> dict[str, Any]:
    lat = result["latencies"].get(kind, [])
    return {
        **summarize(lat),
        "errors": result["error_count"],
        "per_s": round(len(lat) / result["wall_s"]),
        "statuses": result["statuses"].get(kind, {}),
    }


# -- preparing goals whose first artifact awaits a decision -------------------------------------


def send(stack: Stack, body_ctype: tuple[bytes, str]) -> httpx.Response:
    body, ctype = body_ctype
    return httpx.post(
        stack.url, content=body, headers=signed.headers(stack.secret.encode(), body, ctype), timeout=10
    )


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


def wait_quiet(stack: Stack, timeout: float) -> dict[str, int]:
    """Wait (bounded) until the product has no effect or job left; return what is left, if anything."""
    observer = Observer(stack.db_path)
    try:
        wait_for(lambda: not observer.pending_work() or None, timeout=timeout, interval=0.2, what="quiet")
    except TimeoutError:
        return observer.pending_work()
    return {}


# -- the figures ---------------------------------------------------------------------------------


def ack_latency(workdir: Path, counts: dict[int, int], gates: int) -> dict[str, Any]:
    """p50/p99 of the answer to `/orch start` and to an Approve click at each level of concurrency."""
    out: dict[str, Any] = {
        "levels": list(LEVELS),
        "counts": counts,
        "starlette": {},
        "bolt": {},
        "orch_start": {},
        "orch_click": {},
        "bolt_click": {},
    }
    secret = "bench-" + str(int(time.time()))
    (workdir / "baselines").mkdir(parents=True, exist_ok=True)
    with baselines(workdir / "baselines", secret) as b:
        click_stack = Stack(workdir / "orch-click").start()
        try:
            targets = prepare_gates(click_stack, gates, "gate", timeout=30 + gates * 3)
            wait_quiet(click_stack, 60)
            for level in LEVELS:
                n = counts[level]
                ping = [{"kind": "ping"}]
                r = run_load(_spec(b["starlette"], secret, level, n, ping, b["response_url"], f"s{level}"))
                out["starlette"][level] = _summary(r, "ping")
                r = run_load(
                    _spec(b["bolt"], secret, level, n, [{"kind": "start"}], b["response_url"], f"b{level}")
                )
                out["bolt"][level] = _summary(r, "start")
                r = run_load(
                    _spec(
                        b["bolt"],
                        secret,
                        level,
                        n,
                        [{"kind": "click", "targets": targets}],
                        b["response_url"],
                        f"bc{level}",
                    )
                )
                out["bolt_click"][level] = _summary(r, "click")
                with Stack(workdir / f"orch-start-{level}") as stack:
                    r = run_load(
                        _spec(
                            stack.url,
                            stack.secret,
                            level,
                            n,
                            [{"kind": "start"}],
                            stack.sandbox.base_url + "/response/bench",
                            f"os{level}",
                        )
                    )
                    out["orch_start"][level] = _summary(r, "start")
                r = run_load(
                    _spec(
                        click_stack.url,
                        click_stack.secret,
                        level,
                        n,
                        [{"kind": "click", "targets": targets}],
                        click_stack.sandbox.base_url + "/response/bench",
                        f"oc{level}",
                    )
                )
                out["orch_click"][level] = _summary(r, "click")
                out.setdefault("click_backlog", {})[level] = wait_quiet(click_stack, 30)
        finally:
            click_stack.stop()
    return out


MIX = [
    {"kind": "start", "weight": 1},
    {"kind": "status", "weight": 3},
    {"kind": "click", "weight": 3},
    {"kind": "dm", "weight": 3},
]


def sustained(workdir: Path, seconds: float, concurrency: int, gates: int) -> dict[str, Any]:
    """Mixed signed traffic for `seconds`; then every interaction is looked for in the database.

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
        result = run_load(
            {
                "url": stack.url,
                "secret": stack.secret,
                "concurrency": concurrency,
                "duration": seconds,
                "mix": mix,
                "response_url": stack.sandbox.base_url + "/response/bench",
                "tag": "mix",
            }
        )
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
                timeout=max(120, seconds * 4),
                interval=0.5,
                what="every interaction processed",
            )
        seen = processed()
        caught_up = time.time() - done_at
        total = sum(acked.values())
    return {
        "seconds": round(result["wall_s"], 2),
        "concurrency": concurrency,
        "acked": acked,
        "sent": sent,
        "processed": seen,
        "lost": {k: sent[k] - seen[k] for k in sent},
        "errors": result["error_count"],
        "error_samples": result["errors"][:5],
        "per_s": round(total / result["wall_s"]),
        "caught_up_s": round(caught_up, 1),
        "latency": {k: summarize(v) for k, v in result["latencies"].items()},
    }
