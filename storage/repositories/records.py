"""The smaller records around a goal: mode requests, the Slack messages it posted, re-reviews, its
pull request."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import ArtifactReview, ModeRequest, PullRequestLink, SlackMessage


class ModeRequests:
    """Requests for an elevated mode, waiting for (or decided by) an approver."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def pending(self, *, goal_id: str) -> ModeRequest | None:
        """The goal's oldest request still waiting for a decision."""
        return self.session.exec(
            select(ModeRequest)
            .where(ModeRequest.goal_id == goal_id, ModeRequest.status == "pending")
            .order_by(col(ModeRequest.id))
        ).first()

    def for_update(self, request_id: int) -> ModeRequest | None:
        """The request, row-locked for the rest of the transaction."""
        return self.session.exec(
            select(ModeRequest).where(ModeRequest.id == request_id).with_for_update()
        ).first()


class SlackMessages:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, *, kind: str, channel: str, ts: str) -> SlackMessage | None:
        return self.session.exec(
            select(SlackMessage).where(
                SlackMessage.kind == kind, SlackMessage.channel == channel, SlackMessage.ts == ts
            )
        ).first()


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


class PullRequests:
    """The goals' pull requests on the Git host, as delivery last saw them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self) -> list[PullRequestLink]:
        return list(self.session.exec(select(PullRequestLink).where(PullRequestLink.state == "open")).all())
