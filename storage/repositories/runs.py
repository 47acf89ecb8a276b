"""Agent runs that outlive a process (a manager run paused for a person's approval)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.runs_models import AgentRun


class AgentRuns:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, run_id: str) -> AgentRun | None:
        return self.session.get(AgentRun, run_id)

    def paused_ids(self, *, goal_id: str) -> list[str]:
        """The ids of the goal's paused runs, oldest first."""
        return list(
            self.session.exec(
                select(AgentRun.id)
                .where(AgentRun.goal_id == goal_id, AgentRun.status == "paused")
                .order_by(col(AgentRun.created_at))
            ).all()
        )

    def started_for_task(self, *, goal_id: str, task_id: int) -> AgentRun | None:
        """A run of this task that was started before (paused or completed)."""
        return self.session.exec(
            select(AgentRun).where(
                AgentRun.goal_id == goal_id,
                AgentRun.task_id == task_id,
                col(AgentRun.status).in_(("paused", "completed")),
            )
        ).first()

    def live_of_goal(self, *, goal_id: str) -> AgentRun | None:
        """The goal's most recently updated run still running or paused."""
        return self.session.exec(
            select(AgentRun)
            .where(AgentRun.goal_id == goal_id, col(AgentRun.status).in_(("running", "paused")))
            .order_by(col(AgentRun.updated_at).desc())
        ).first()
