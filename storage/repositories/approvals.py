"""Approvals: the decisions people took on artifact versions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.models import Approval

APPROVE = "approve"


class Approvals:
    def __init__(self, session: Session) -> None:
        self.session = session

    def approvers_of(self, goal_id: str, sha256: str) -> set[str]:
        """Who approved this version."""
        return set(
            self.session.exec(
                select(Approval.by).where(
                    Approval.goal_id == goal_id,
                    Approval.artifact_sha256 == sha256,
                    Approval.decision == APPROVE,
                )
            ).all()
        )

    def approvers_in_phase(self, goal_id: str, phase: str) -> list[str]:
        return list(
            self.session.exec(
                select(Approval.by).where(
                    Approval.goal_id == goal_id, Approval.phase == phase, Approval.decision == APPROVE
                )
            ).all()
        )

    def by_person(self, goal_id: str, by: str, decision: str) -> list[Approval]:
        """This person's decisions of this kind on the goal (a repeat is answered, not refused)."""
        return list(
            self.session.exec(
                select(Approval).where(
                    Approval.goal_id == goal_id, Approval.by == by, Approval.decision == decision
                )
            ).all()
        )

    def of_version(self, goal_id: str, sha256: str) -> list[Approval]:
        """Every decision on this version, oldest first."""
        return list(
            self.session.exec(
                select(Approval)
                .where(Approval.goal_id == goal_id, Approval.artifact_sha256 == sha256)
                .order_by(col(Approval.id))
            ).all()
        )

    def of_goal(self, goal_id: str) -> list[Approval]:
        return list(
            self.session.exec(
                select(Approval).where(Approval.goal_id == goal_id).order_by(col(Approval.id))
            ).all()
        )

    def of_goals(self, goal_ids: Sequence[str]) -> dict[str, list[Approval]]:
        """`of_goal` for many goals in one query per 500."""
        out: dict[str, list[Approval]] = {g: [] for g in goal_ids}
        ids = list(goal_ids)
        for i in range(0, len(ids), 500):
            rows = self.session.exec(
                select(Approval).where(col(Approval.goal_id).in_(ids[i : i + 500])).order_by(col(Approval.id))
            ).all()
            for row in rows:
                out[row.goal_id].append(row)
        return out

    def add(self, approval: Approval) -> None:
        self.session.add(approval)
        self.session.flush()

    def approving(self, *, goal_id: str) -> list[Approval]:
        """The goal's approvals (not the other decisions), in the order they were given."""
        return list(
            self.session.exec(
                select(Approval)
                .where(Approval.goal_id == goal_id, Approval.decision == APPROVE)
                .order_by(col(Approval.id))
            ).all()
        )

    def approved_shas(self, *, goal_id: str) -> set[str]:
        """The versions of the goal anyone approved."""
        return set(
            self.session.exec(
                select(Approval.artifact_sha256).where(
                    Approval.goal_id == goal_id, Approval.decision == APPROVE
                )
            ).all()
        )

    def decisions_on_versions(
        self, *, goal_ids: Sequence[str], shas: Sequence[str]
    ) -> list[tuple[str, str, str, str]]:
        """(goal id, sha256, who, decision) of every decision on these versions, oldest first; plain
        rows, without loading whole approvals."""
        rows = self.session.connection().execute(
            core_select(
                col(Approval.goal_id), col(Approval.artifact_sha256), col(Approval.by), col(Approval.decision)
            )
            .where(col(Approval.goal_id).in_(list(goal_ids)), col(Approval.artifact_sha256).in_(list(shas)))
            .order_by(col(Approval.id))
        )
        return [(goal_id, sha, by, decision) for goal_id, sha, by, decision in rows]

    def of_exact_version(self, *, goal_id: str, sha256: str, version: int) -> list[Approval]:
        """The decisions on this version number with this content (a redo may repeat a sha256)."""
        return list(
            self.session.exec(
                select(Approval).where(
                    Approval.goal_id == goal_id,
                    Approval.artifact_sha256 == sha256,
                    Approval.artifact_version == version,
                )
            ).all()
        )
