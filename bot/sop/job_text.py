"""What an agent job is doing, in words a requester reads (overdue DMs, digests, failure messages)."""

from __future__ import annotations

from typing import Any

from bot.sop.phases import LABELS, Phase


def describe(kind: str, payload: dict[str, Any]) -> str:
    """What the job is doing, in words a requester understands (shown in overdue DMs and digests)."""
    version = int(payload.get("version", 1) or 1)
    if kind == "build":
        return f"Building task {payload.get('task_id')} (v{version}) in the goal's worktree"
    phase = Phase(payload.get("phase", Phase.PRD.value))
    if phase is Phase.SCAFFOLD_CHECK:
        return "Checking the repository scaffold"
    again = " with the requested changes" if payload.get("feedback") else ""
    return f"Drafting the {LABELS[phase]} (v{version}){again}"
