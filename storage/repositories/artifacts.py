"""Artifacts: the drafted versions of each phase (and task)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import func
from sqlalchemy.orm import QueryableAttribute, load_only
from sqlmodel import Session, col, select

from storage.models import Artifact, Goal

# The artifact columns a gate needs; the content (possibly a large diff) is left unloaded.
_GATE_COLUMNS = cast(
    "tuple[QueryableAttribute[Any], ...]",
    (
        col(Artifact.id),
        col(Artifact.goal_id),
        col(Artifact.phase),
        col(Artifact.version),
        col(Artifact.task_id),
        col(Artifact.sha256),
        col(Artifact.created_at),
    ),
)


class Artifacts:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, goal: Goal) -> Artifact | None:
        """The newest artifact of the goal's current phase."""
        return self.session.exec(
            select(Artifact)
            .where(Artifact.goal_id == goal.id, Artifact.phase == goal.phase)
            .order_by(col(Artifact.id).desc())
            .limit(1)
        ).first()

    def of_goal(self, goal_id: str) -> list[Artifact]:
        return list(
            self.session.exec(
                select(Artifact).where(Artifact.goal_id == goal_id).order_by(col(Artifact.id))
            ).all()
        )

    def with_sha(self, goal_id: str, sha256: str | None) -> list[Artifact]:
        return list(
            self.session.exec(
                select(Artifact).where(Artifact.goal_id == goal_id, Artifact.sha256 == sha256)
            ).all()
        )

    def version_with_sha(self, goal_id: str, sha256: str | None) -> int | None:
        return self.session.exec(
            select(Artifact.version).where(Artifact.goal_id == goal_id, Artifact.sha256 == sha256)
        ).first()

    def find(self, goal_id: str, phase: str, version: int, task_id: int) -> Artifact | None:
        return self.session.exec(
            select(Artifact).where(
                Artifact.goal_id == goal_id,
                Artifact.phase == phase,
                Artifact.version == version,
                Artifact.task_id == task_id,
            )
        ).first()

    def versions(self, goal_id: str, phase: str, task_id: int = 0) -> list[int]:
        return list(
            self.session.exec(
                select(Artifact.version).where(
                    Artifact.goal_id == goal_id, Artifact.phase == phase, Artifact.task_id == task_id
                )
            ).all()
        )

    def last_versions(self, goal_id: str) -> dict[tuple[str, int], int]:
        """The highest version per (phase, task id)."""
        rows = self.session.exec(
            select(Artifact.phase, Artifact.task_id, func.max(Artifact.version))
            .where(Artifact.goal_id == goal_id)
            .group_by(col(Artifact.phase), col(Artifact.task_id))
        ).all()
        return {(phase, task_id): version for phase, task_id, version in rows}

    def newest_text(self, goal_id: str, phase: str) -> str:
        row = self.session.exec(
            select(Artifact.content)
            .where(Artifact.goal_id == goal_id, Artifact.phase == phase)
            .order_by(col(Artifact.version).desc())
        ).first()
        return row or ""

    def other_ids(self, artifact: Artifact) -> list[int]:
        """The ids of the other versions of the same phase and task."""
        return [
            i
            for i in self.session.exec(
                select(Artifact.id).where(
                    Artifact.goal_id == artifact.goal_id,
                    Artifact.phase == artifact.phase,
                    Artifact.task_id == artifact.task_id,
                    col(Artifact.id) != artifact.id,
                )
            ).all()
            if i is not None
        ]

    def add(self, artifact: Artifact) -> Artifact:
        self.session.add(artifact)
        return artifact

    def of_task_newest_first(self, *, goal_id: str, phase: str, task_id: int) -> list[Artifact]:
        """Every version of one task's artifact in `phase`, newest first."""
        return list(
            self.session.exec(
                select(Artifact)
                .where(Artifact.goal_id == goal_id, Artifact.phase == phase, Artifact.task_id == task_id)
                .order_by(col(Artifact.version).desc())
            ).all()
        )

    def documents(self, *, goal_id: str) -> list[Artifact]:
        """Every version of the goal's documents (not of its tasks), oldest first."""
        return list(
            self.session.exec(
                select(Artifact)
                .where(Artifact.goal_id == goal_id, Artifact.task_id == 0)
                .order_by(col(Artifact.id))
            ).all()
        )

    def document_versions(self, goal_ids: Sequence[str]) -> dict[str, list[Artifact]]:
        """Every version of these goals' documents, oldest first per goal; only the columns that
        say which version it is (the content is left unloaded)."""
        out: dict[str, list[Artifact]] = {g: [] for g in goal_ids}
        for chunk in _chunks(list(goal_ids)):
            rows = self.session.exec(
                select(Artifact)
                .where(col(Artifact.goal_id).in_(chunk), Artifact.task_id == 0)
                .order_by(col(Artifact.id))
                .options(load_only(*_GATE_COLUMNS))
            ).all()
            for row in rows:
                out[row.goal_id].append(row)
        return out

    def last_version(self, *, goal_id: str, phase: str, task_id: int = 0) -> int | None:
        """The highest version of this phase (and task), None before the first."""
        return self.session.exec(
            select(func.max(Artifact.version)).where(
                Artifact.goal_id == goal_id, Artifact.phase == phase, Artifact.task_id == task_id
            )
        ).one()

    def newest_message_ts(self, *, goal_id: str) -> str | None:
        """The Slack timestamp of the goal's newest posted artifact."""
        return self.session.exec(
            select(Artifact.message_ts)
            .where(Artifact.goal_id == goal_id, col(Artifact.message_ts).is_not(None))
            .order_by(col(Artifact.id).desc())
            .limit(1)
        ).first()

    def current_of_goals(self, *, goal_ids: Sequence[str]) -> list[Artifact]:
        """The newest artifact of each goal's current phase, in one query. Only the columns a gate
        needs are loaded: read the content, if ever needed, through another session."""
        latest = (
            select(func.max(Artifact.id))
            .where(Artifact.goal_id == Goal.id, Artifact.phase == Goal.phase)
            .correlate(Goal)
            .scalar_subquery()
        )
        return list(
            self.session.exec(
                select(Artifact)
                .select_from(Goal)
                .join(Artifact, col(Artifact.id) == latest)
                .where(col(Goal.id).in_(list(goal_ids)))
                .options(load_only(*_GATE_COLUMNS))
            ).all()
        )


_IN_LIST = 500  # ids per IN list (SQLite's older builds allow 999 parameters)


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + _IN_LIST] for i in range(0, len(ids), _IN_LIST)]
