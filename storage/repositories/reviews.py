"""Reviews of approved artifacts that are about to go stale (freshness)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import ArtifactReview


class ArtifactReviews:
    """Re-reviews: an approved version confirmed again after the documents around it changed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_goals(self, goal_ids: Sequence[str]) -> dict[str, list[ArtifactReview]]:
        """`of_goal` for many goals in one query per 500."""
        out: dict[str, list[ArtifactReview]] = {g: [] for g in goal_ids}
        ids = list(goal_ids)
        for i in range(0, len(ids), 500):
            rows = self.session.exec(
                select(ArtifactReview)
                .where(col(ArtifactReview.goal_id).in_(ids[i : i + 500]))
                .order_by(col(ArtifactReview.id))
            ).all()
            for row in rows:
                out[row.goal_id].append(row)
        return out

    def of_goal(self, *, goal_id: str) -> list[ArtifactReview]:
        return list(
            self.session.exec(
                select(ArtifactReview)
                .where(ArtifactReview.goal_id == goal_id)
                .order_by(col(ArtifactReview.id))
            ).all()
        )
