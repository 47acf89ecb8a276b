"""Requests to run a goal in an elevated mode, and their decisions."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import ModeRequest


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
