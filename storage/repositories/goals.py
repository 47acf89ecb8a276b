"""Goals, the goal-number counter and the idempotency keys of what was already taken."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import Counter, Goal, ProcessedDelivery


class Counters:
    def __init__(self, session: Session) -> None:
        self.session = session

    def next_goal_number(self, floor: int = 0) -> int:
        """Atomically take the next goal number, always above `floor`."""
        return int(
            self.session.execute(
                text(
                    "INSERT INTO counters (name, value) VALUES ('goal', :first) "
                    "ON CONFLICT (name) DO UPDATE SET value = CASE WHEN counters.value >= :floor "
                    "THEN counters.value + 1 ELSE :first END RETURNING value"
                ),
                {"first": floor + 1, "floor": floor},
            ).scalar_one()
        )

    def value(self, name: str) -> int | None:
        """The named counter's value, None when it was never set."""
        row = self.session.get(Counter, name)
        return row.value if row is not None else None

    def raise_to(self, *, name: str, value: int) -> None:
        """Set the named counter to `value` unless it already stands at or above it."""
        row = self.session.get(Counter, name)
        if row is None:
            self.session.add(Counter(name=name, value=value))
        elif row.value < value:
            row.value = value
            self.session.add(row)


class Goals:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, goal_id: str) -> Goal | None:
        return self.session.get(Goal, goal_id)

    def for_update(self, goal_id: str) -> Goal | None:
        """The goal, row-locked for the rest of the transaction."""
        return self.session.exec(select(Goal).where(Goal.id == goal_id).with_for_update()).first()

    def latest_from_slash(self, requester: str, channel_id: str | None, brief: str) -> str | None:
        """The id of this person's newest goal started with this text in this channel."""
        return self.session.exec(
            select(Goal.id)
            .where(
                Goal.requester == requester,
                Goal.channel_id == channel_id,
                Goal.brief == brief,
                Goal.source == "slash",
            )
            .order_by(col(Goal.created_at).desc(), col(Goal.id).desc())
            .limit(1)
        ).first()

    def save(self, goal: Goal) -> None:
        self.session.add(goal)

    def newest(
        self,
        *,
        requester: str | None = None,
        channel_id: str | None = None,
        active_only: bool = False,
        limit: int = 50,
    ) -> list[Goal]:
        query = select(Goal).order_by(col(Goal.created_at).desc()).limit(limit)
        if requester:
            query = query.where(Goal.requester == requester)
        if channel_id:
            query = query.where(Goal.channel_id == channel_id)
        if active_only:
            query = query.where(Goal.state == "active")
        return list(self.session.exec(query).all())

    def with_status(self, *, state: str, status: str, limit: int | None = None) -> list[Goal]:
        """Goals in this state and phase status, the longest untouched first."""
        query = select(Goal).where(Goal.state == state, Goal.status == status).order_by(col(Goal.updated_at))
        return list(self.session.exec(query if limit is None else query.limit(limit)).all())

    def of_requester(self, *, requester: str, limit: int) -> list[Goal]:
        """This person's goals, the most recently touched first."""
        return list(
            self.session.exec(
                select(Goal)
                .where(Goal.requester == requester)
                .order_by(col(Goal.updated_at).desc())
                .limit(limit)
            ).all()
        )

    def in_thread(self, *, channel_id: str, thread_ts: str) -> Goal | None:
        """The goal whose Slack thread this is."""
        return self.session.exec(
            select(Goal).where(Goal.channel_id == channel_id, Goal.thread_ts == thread_ts)
        ).first()

    def ids_in_states(self, *, states: Sequence[str]) -> set[str]:
        return set(self.session.exec(select(Goal.id).where(col(Goal.state).in_(list(states)))).all())

    def in_state(self, *, state: str) -> list[Goal]:
        """Every goal in this state, by id."""
        return list(self.session.exec(select(Goal).where(Goal.state == state).order_by(col(Goal.id))).all())


class Deliveries:
    """Idempotency keys of what was already taken (Slack deliveries, a start within its window)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, key: str, at: datetime) -> bool:
        """Take `key` if nobody has: True the first time, False ever after (one statement,
        `INSERT … ON CONFLICT DO NOTHING`, so two deliveries at once cannot both take it)."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # RETURNING says whether the row went in (the ORM's bulk insert has no row count to trust).
        statement = (
            insert(ProcessedDelivery)
            .values(key=key, at=at)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(ProcessedDelivery.key))
        )
        return self.session.execute(statement).first() is not None

    def for_update(self, key: str) -> ProcessedDelivery | None:
        return self.session.exec(
            select(ProcessedDelivery).where(ProcessedDelivery.key == key).with_for_update()
        ).first()
