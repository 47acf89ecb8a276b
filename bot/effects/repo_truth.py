"""A note that says the goal's commits are made is posted only once they are.

Notes recorded with `after_repo` (the "🎉 done … artifacts and mirrors committed" line) run after
the goal's earlier repository effects; one of those may have failed (and wait for a person's
retry) or be waiting for a repair. The note then waits too, rather than claim what did not happen.
"""

from __future__ import annotations

from bot.effects.port import WaitForPerson, payload_of
from bot.sop.effect_kinds import ThreadNote
from storage.db import read_session
from storage.models import Effect
from storage.repositories import Effects
from storage.sessions import Engine

RECHECK_SECONDS = 30.0


def require_commits_landed(engine: Engine, effect: Effect) -> None:
    """Raise `WaitForPerson` while a repository effect of the goal recorded before `effect` has not landed."""
    if not effect.goal_id or not payload_of(effect, ThreadNote).after_repo:
        return
    with read_session(engine) as session:
        open_ = Effects(session).unlanded_repo_key_before(goal_id=effect.goal_id, before_id=effect.id or 0)
    if open_ is not None:
        raise WaitForPerson(f"{open_} has not landed yet", delay=RECHECK_SECONDS)
