"""What the approval flow and the failed-work use cases need of `GoalService`, as a protocol.

`bot.services.goals.GoalService` calls into them (an approval advances the goal; a Request changes
on failed work runs it again); typing them against this protocol keeps the arrow one way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.services.authority import ApproverDirectory
from bot.services.unit import Actor, Clock
from storage.models import Goal
from storage.sessions import Engine, Session


class GoalsPort(Protocol):
    @property
    def engine(self) -> Engine: ...

    @property
    def directory(self) -> ApproverDirectory: ...

    @property
    def clock(self) -> Clock: ...

    def _committed(self) -> None: ...

    def _card_effect(self, session: Session, goal: Goal, now: datetime, tag: str) -> None: ...

    def _check_authority(self, goal: Goal, actor: Actor, known: dict[str, bool] | None = None) -> None: ...
