"""Token usage and its cost: per run (from the run record), summed per goal, priced from `orch.toml`.

Every agent run records the usage its model reported (`usage` in run.json: Codex turns through the
app-server, the manager and its agents). Prices are per million tokens and per model:

    [prices."gpt-5.5"]
    input = 1.25
    cached_input = 0.125
    output = 10.0

Cached input tokens are part of the input tokens the model reports; they are priced at the cached
rate and the rest at the input rate. A model without a price is counted but not priced, and said so.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

PER = 1_000_000


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)  # None: the input price
    output: float = Field(ge=0)


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    cached_input: int = 0
    output: int = 0

    @classmethod
    def of(cls, usage: Any) -> Tokens:
        if not isinstance(usage, dict):
            return cls()

        def count(*names: str) -> int:
            for name in names:
                value = usage.get(name)
                if isinstance(value, int) and value >= 0:
                    return value
            return 0

        return cls(
            input=count("input_tokens", "inputTokens"),
            cached_input=count("cached_input_tokens", "cachedInputTokens"),
            output=count("output_tokens", "outputTokens"),
        )

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input, self.cached_input + other.cached_input, self.output + other.output
        )


def cost(tokens: Tokens, price: ModelPrice) -> float:
    cached = min(tokens.cached_input, tokens.input)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    return ((tokens.input - cached) * price.input + cached * cached_rate + tokens.output * price.output) / PER


@dataclass
class GoalUsage:
    goal_id: str
    runs: int = 0
    tokens: Tokens = field(default_factory=Tokens)
    cost: float = 0.0
    unpriced: set[str] = field(default_factory=set)  # models used without a price in the table

    def line(self) -> str:
        t = self.tokens
        text = (
            f"{self.goal_id}: {self.runs} run(s), {t.input:,} input tokens ({t.cached_input:,} cached), "
            f"{t.output:,} output tokens, ${self.cost:.4f}"
        )
        if self.unpriced:
            text += f" (no price for {', '.join(sorted(self.unpriced))}: not counted in the cost)"
        return text


def goal_usage(runs_dir: Path, goal_id: str, prices: dict[str, ModelPrice]) -> GoalUsage:
    """Sum the usage of every run record of `goal_id` under `runs_dir`."""
    return sum_usage(runs_dir, prices, goal_id=goal_id)


def sum_usage(
    runs_dir: Path | None,
    prices: dict[str, ModelPrice],
    *,
    goal_id: str | None = None,
    since: datetime | None = None,
) -> GoalUsage:
    """Sum the usage of the run records under `runs_dir`: of one goal, or of all runs started since."""
    total = GoalUsage(goal_id or "all goals")
    if runs_dir is None or not runs_dir.is_dir():
        return total
    for meta in _RECORDS.read(runs_dir):
        if not meta.get("usage"):
            continue
        if goal_id is not None and meta.get("goal_id") != goal_id:
            continue
        if since is not None and not _started_since(meta, since):
            continue
        tokens = Tokens.of(meta["usage"])
        total.runs += 1
        total.tokens = total.tokens + tokens
        model = str(meta.get("model") or "")
        if model in prices:
            total.cost += cost(tokens, prices[model])
        else:
            total.unpriced.add(model or "an unnamed model")
    return total


class _RunRecords:
    """The run.json files under a runs folder, each read again only when it changed.

    Every card drawn shows its goal's cost, summed over the run records: reading and parsing every
    record of every goal each time made a card's cost grow with all the runs ever made. A record's
    (inode, mtime, size) is looked at instead, and only a changed one is read (a record is
    rewritten whole, by a rename to a new file, so a reader never sees half of one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Path, dict[Path, tuple[tuple[int, int, int], dict[str, Any]]]] = {}

    def read(self, runs_dir: Path) -> list[dict[str, Any]]:
        with self._lock:
            before = self._seen.get(runs_dir, {})
        now: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}
        for meta_file in sorted(runs_dir.glob("*/run.json")):
            try:
                st = meta_file.stat()
            except OSError:
                continue
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            known = before.get(meta_file)
            if known is not None and known[0] == stamp:
                now[meta_file] = known
                continue
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            if isinstance(meta, dict):
                now[meta_file] = (stamp, meta)
        with self._lock:
            self._seen[runs_dir] = now
        return [meta for _, meta in now.values()]


_RECORDS = _RunRecords()


def _started_since(meta: dict[str, Any], since: datetime) -> bool:
    try:
        started = datetime.fromisoformat(str(meta.get("started_at")))
    except ValueError:
        return False
    return started >= since if started.tzinfo else False


def usage_summary_line(used: GoalUsage) -> str:
    """The digest's and `orch metrics`' line: the model usage of the window and what it cost."""
    t = used.tokens
    text = (
        f"Model usage: {used.runs} run(s), {t.input:,} input tokens ({t.cached_input:,} cached), "
        f"{t.output:,} output tokens, ${used.cost:.4f}"
    )
    if used.unpriced:
        text += f" (no price for {', '.join(sorted(used.unpriced))})"
    return text
