"""The load generator, run in its own process: `python -m bench.load < spec.json > result.json`.

`concurrency` clients each send one signed request, wait for the answer and send the next (a
closed loop, as people clicking do), over an aiohttp connection pool; with `rate`, requests start on
a fixed schedule instead (an open loop, as Slack delivers), at most `concurrency` in flight. The run
stops after `count` requests or `duration` seconds. Request kinds come from a weighted mix:

- `start`: `/orch start <brief>` with a unique tag in the brief (so the harness can find the goal);
- `status`: `/orch status`;
- `click`: Approve on one of the given artifact messages (`targets`), in turn;
- `dm`: a message in the bot's DM (an Events API delivery with a unique event_id);
- `ping`: the same `/orch status` body, for the baselines (they answer every request alike).

The result (stdout, JSON) holds every latency per kind, status counts, errors, and the wall-clock
send time of each tagged request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any

import aiohttp

from bench import signed

TIMEOUT = 3.0  # Slack gives up on an answer after 3 s: anything slower is an error.


def schedule(mix: list[dict[str, Any]]) -> list[str]:
    """One cycle of kinds, interleaved by weight (weights 3,1 -> a a b a, not a a a b)."""
    slots: list[tuple[float, str]] = []
    for entry in mix:
        weight = int(entry.get("weight", 1))
        slots += [((i + 0.5) / weight, entry["kind"]) for i in range(weight)]
    return [kind for _, kind in sorted(slots)]


class Plan:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.tag = spec.get("tag", "bench")
        self.kinds = itertools.cycle(schedule(spec["mix"]))
        self.targets = {e["kind"]: itertools.cycle(e.get("targets") or [None]) for e in spec["mix"]}
        self.numbers = itertools.count(1)

    def next(self) -> tuple[str, int, bytes, str]:
        kind, n = next(self.kinds), next(self.numbers)
        common = {"channel": self.spec.get("channel", "C_DEV"), "n": n}
        if kind == "start":
            text = f"start Add a CSV export of invoices for the finance team [{self.tag}-{n}]"
            body, ctype = signed.slash(text, user="U_REQ", response_url=self.spec["response_url"], **common)
        elif kind in ("status", "ping"):
            body, ctype = signed.slash(
                "status", user="U_REQ", response_url=self.spec["response_url"], **common
            )
        elif kind == "click":
            t = next(self.targets["click"])
            body, ctype = signed.click(
                t["value"],
                user=t.get("user", "U_APP1"),
                channel=t["channel"],
                message_ts=t["message_ts"],
                thread_ts=t.get("thread_ts"),
                n=n,
            )
        elif kind == "dm":
            body, ctype = signed.dm_event(
                "hello there", user="U_REQ", event_id=f"Ev{self.tag}{n}", ts=f"{time.time():.6f}"
            )
        else:
            raise ValueError(f"unknown request kind {kind!r}")
        return kind, n, body, ctype


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    secret = spec["secret"].encode()
    url = spec["url"]
    concurrency = int(spec["concurrency"])
    count = spec.get("count")
    duration = spec.get("duration")
    plan = Plan(spec)
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, dict[str, int]] = {}
    errors: list[str] = []
    sent: dict[str, float] = {}  # "<kind>-<n>" -> wall-clock send time, for tagged kinds
    budget = itertools.count()
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Warm the pool with read-only requests that are not counted (connect, Bolt's first auth.test).
        warm = signed.slash("status", user="U_REQ", channel="C_DEV", response_url=spec["response_url"], n=0)
        for _ in range(int(spec.get("warmup", 2))):
            await asyncio.gather(*(_send(session, url, secret, *warm) for _ in range(concurrency)))
        started = time.perf_counter()
        deadline = started + duration if duration else None

        async def one() -> None:
            kind, n, body, ctype = plan.next()
            if kind in ("start", "dm", "click"):
                sent[f"{kind}-{n}"] = time.time()
            t0 = time.perf_counter()
            try:
                status = await _send(session, url, secret, body, ctype)
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])
                statuses.setdefault(kind, {}).setdefault("error", 0)
                statuses[kind]["error"] += 1
                return
            elapsed = time.perf_counter() - t0
            latencies.setdefault(kind, []).append(elapsed)
            by_kind = statuses.setdefault(kind, {})
            by_kind[str(status)] = by_kind.get(str(status), 0) + 1
            if not 200 <= status < 300:
                errors.append(f"{kind}: HTTP {status}")

        def more() -> bool:
            if count is not None and next(budget) >= count:
                return False
            return deadline is None or time.perf_counter() < deadline

        async def client() -> None:
            while more():
                await one()

        async def open_loop(rate: float) -> None:
            # Requests start on a fixed schedule whatever the answers do (Slack does not wait for us);
            # at most `concurrency` are in flight. Time spent behind schedule is reported.
            slots = asyncio.Semaphore(concurrency)
            tasks: set[asyncio.Task[None]] = set()
            due = time.perf_counter()
            while more():
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await slots.acquire()
                late.append(max(0.0, time.perf_counter() - due))

                async def go() -> None:
                    try:
                        await one()
                    finally:
                        slots.release()

                task = asyncio.create_task(go())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                due += 1.0 / rate
            await asyncio.gather(*tasks)

        late: list[float] = []
        if spec.get("rate"):
            await open_loop(float(spec["rate"]))
        else:
            await asyncio.gather(*(client() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "latencies": latencies,
        "statuses": statuses,
        "errors": errors[:50],
        "error_count": len(errors),
        "sent": sent,
        "tag": plan.tag,
        "behind_schedule_s": round(max(late), 3) if late else None,
    }


async def _send(session: aiohttp.ClientSession, url: str, secret: bytes, body: bytes, ctype: str) -> int:
    async with session.post(url, data=body, headers=signed.headers(secret, body, ctype)) as response:
        await response.read()
        return response.status


def main() -> None:
    spec = json.load(sys.stdin)
    result = asyncio.run(run(spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
