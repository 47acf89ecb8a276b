"""Several goals at once: `orch goals run-parallel FILE`.

Each brief gets its own worker thread, which starts the goal and carries out that goal's effects
(drafts, builds, publishes) in order. Goals never share a worktree (one per goal id), and every
write to the shared files (`tasks/index.json`, `docs/*` mirrors) happens inside a publish that
holds the branch lock, so concurrent goals serialise exactly there and nowhere else.

With `approve_as`, the worker also approves each gate as that approver through the same service a
Slack click uses (self-approval and approver rules apply), which walks every goal to Done; without
it each goal stops at its first gate, waiting for people.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bot.cli.identity import cli_actor
from bot.services.errors import ServiceError
from bot.sop.phases import Decision, GoalState, PhaseStatus
from storage.db import read_session
from storage.repositories import Effects

if TYPE_CHECKING:
    from bot.deps import Deps as Container

MAX_GATES = 40
MAX_BRIEFS = 200


@dataclass(frozen=True)
class Brief:
    brief: str
    title: str | None = None
    priority: str = "medium"


@dataclass
class GoalOutcome:
    index: int
    brief: Brief
    goal_id: str | None = None
    phase: str | None = None
    state: str | None = None
    status: str | None = None
    approvals: int = 0
    error: str | None = None
    log: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.error:
            return f"#{self.index + 1} {self.goal_id or '-'} failed: {self.error}"
        where = self.state if self.state != GoalState.ACTIVE else f"{self.phase}, {self.status}"
        return f"#{self.index + 1} {self.goal_id} {where} ({self.approvals} approvals)"


def load_briefs(path: Path) -> list[Brief]:
    """A YAML or JSON list; each item a brief string or `{brief, title?, priority?}`."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if isinstance(data, dict) and "briefs" in data:
        data = data["briefs"]
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path} must hold a non-empty list of briefs")
    if len(data) > MAX_BRIEFS:
        raise ValueError(f"{path} holds {len(data)} briefs; at most {MAX_BRIEFS} at once")
    briefs = []
    for i, item in enumerate(data, 1):
        if isinstance(item, str):
            briefs.append(Brief(item))
        elif isinstance(item, dict) and isinstance(item.get("brief"), str):
            briefs.append(Brief(item["brief"], item.get("title"), str(item.get("priority", "medium"))))
        else:
            raise ValueError(f"brief #{i} in {path} is neither text nor a mapping with a 'brief' key")
    return briefs


async def drain_goal(c: Container, goal_id: str, *, timeout: float = 300.0) -> None:
    """Carry out the goal's pending effects in order, and its agent jobs as their turn comes, until
    none is due (bounded by `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if c.jobs is not None and await c.jobs.run_ready(goal_id):
            continue  # a job runs once the effects recorded before it are done, before later ones
        now = c.clock()
        with read_session(c.engine) as session:
            pending = Effects(session).pending_of_goal(goal_id=goal_id)
        if not pending:
            return
        effect = pending[0]  # strictly in order: a goal's effects build on each other
        if effect.not_before is not None and effect.not_before > now:
            wait = (effect.not_before - now).total_seconds()
            await asyncio.sleep(min(max(wait, 0.05), max(0.0, deadline - loop.time())))
            continue
        await c.dispatcher.run_one(effect)
    raise TimeoutError(f"{goal_id}: effects still pending after {timeout:g}s")


def run_goal(
    c: Container,
    index: int,
    brief: Brief,
    *,
    as_user: str,
    approve_as: str | None,
    report: Callable[[str], None],
) -> GoalOutcome:
    out = GoalOutcome(index=index, brief=brief)
    try:
        goal = c.goals.start_goal(
            brief=brief.brief,
            title=brief.title,
            priority=brief.priority,
            actor=cli_actor(as_user),
            source="cli",
        )
        out.goal_id = goal.id
        report(f"{goal.id} started: {goal.title}")
        for _ in range(MAX_GATES):
            asyncio.run(drain_goal(c, goal.id))
            goal = c.goals.get(goal.id)
            if goal.state != GoalState.ACTIVE or approve_as is None:
                break
            if goal.status != PhaseStatus.AWAITING_APPROVAL:
                raise RuntimeError(f"{goal.id} is {goal.status} at {goal.phase} with nothing left to run")
            outcome = c.goals.decide(
                goal_id=goal.id,
                phase=None,
                sha256=None,
                decision=Decision.APPROVE,
                actor=cli_actor(approve_as),
            )
            out.approvals += 1
            report(f"{goal.id} {outcome.phase} v{outcome.version} approved by {approve_as}")
        out.phase, out.state, out.status = goal.phase, goal.state, goal.status
    except (ServiceError, RuntimeError, TimeoutError, OSError, ValueError) as exc:
        out.error = str(exc)
    report(out.line())
    return out


def run_parallel(
    c: Container,
    briefs: list[Brief],
    *,
    as_user: str = "cli:parallel",
    approve_as: str | None = None,
    workers: int | None = None,
    report: Callable[[str], None] = print,
) -> list[GoalOutcome]:
    """Start every brief concurrently; return one outcome per brief, in the file's order."""
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            report(line)

    size = max(1, min(len(briefs), workers or c.settings.max_parallel_jobs))
    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="orch-goal") as pool:
        futures = [
            pool.submit(run_goal, c, i, b, as_user=as_user, approve_as=approve_as, report=say)
            for i, b in enumerate(briefs)
        ]
        return [f.result() for f in futures]
