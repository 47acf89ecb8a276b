"""The Codex turns running in this process, by goal, so Stop can interrupt one and a reply can steer it.

A turn registers itself for the length of its run. Stop (the status message's button or a `:x:`
reaction on it) interrupts it with `turn/interrupt`; the build then ends as stopped and the goal
waits with Retry / Request changes. Only this process's turns are here: a Stop that arrives at a
process not running the build is recorded, and the process running it picks it up
(`WorkEffects._watch_stop`). A follow-up instruction (a reply in the goal's thread by its requester or
an approver) goes the same way: into the turn here, or recorded for the process running it.
"""

from __future__ import annotations

import threading
from typing import Protocol


class Interruptible(Protocol):
    stopped_by: str | None

    def interrupt(self) -> bool: ...

    def steer(self, text: str, *, by: str) -> bool: ...


_running: dict[str, Interruptible] = {}
_lock = threading.Lock()


def register(goal_id: str, turn: Interruptible) -> None:
    with _lock:
        _running[goal_id] = turn


def unregister(goal_id: str, turn: Interruptible) -> None:
    with _lock:
        if _running.get(goal_id) is turn:
            del _running[goal_id]


def interrupt(goal_id: str, *, by: str) -> bool:
    """Interrupt the goal's running turn; False when none runs here (or it has not started yet)."""
    with _lock:
        turn = _running.get(goal_id)
    if turn is None:
        return False
    turn.stopped_by = by
    return turn.interrupt()


def steer(goal_id: str, text: str, *, by: str) -> bool:
    """Send a follow-up instruction into the goal's running turn; False when none runs here."""
    with _lock:
        turn = _running.get(goal_id)
    return turn is not None and turn.steer(text, by=by)
