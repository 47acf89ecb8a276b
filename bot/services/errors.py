"""Refusals a person can act on. Handlers show the message to that person only."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: `str(exc)` is the sentence shown to the person."""


class GoalNotFound(ServiceError):
    def __init__(self, goal_id: str) -> None:
        super().__init__(f"There is no goal {goal_id}. `/orch list` shows the goals you can see.")


class GoalClosed(ServiceError):
    def __init__(self, goal_id: str, state: str) -> None:
        super().__init__(f"{goal_id} is {state}; nothing more can be decided on it.")


class NotAnApprover(ServiceError):
    def __init__(self, goal_id: str, phase_label: str) -> None:
        super().__init__(
            f"You are not an approver for this gate ({goal_id}, {phase_label}). "
            "`/orch approvers` lists who can approve."
        )


class SelfApproval(ServiceError):
    def __init__(self, goal_id: str) -> None:
        super().__init__(
            f"You started {goal_id}, so you cannot approve its gates yourself (separation of duties). "
            "Ask another approver."
        )


class StaleArtifact(ServiceError):
    def __init__(
        self, clicked_version: int | None, current_version: int | None, link: str | None = None
    ) -> None:
        where = f" <{link}|Open the current version>." if link else ""
        now = f"v{current_version}" if current_version else "a newer state"
        then = f"v{clicked_version}" if clicked_version else "an older version"
        super().__init__(
            f"That button belongs to {then}, which is no longer the one awaiting a decision (now: {now}).{where}"
        )
        self.current_version = current_version


class NotAwaitingDecision(ServiceError):
    def __init__(self, goal_id: str, phase_label: str, status: str) -> None:
        super().__init__(f"{goal_id} {phase_label} is {status.replace('_', ' ')}, not awaiting a decision.")


class InvalidInput(ServiceError):
    pass


class DuplicateStart(ServiceError):
    """The same `/orch start` text from the same person, again within the dedupe window."""

    def __init__(self, goal_id: str | None, seconds: float) -> None:
        what = goal_id or "a goal"
        super().__init__(
            f"You started {what} with the same text {seconds:.0f} s ago, so I did not start it again."
        )
        self.goal_id = goal_id


class WrongMessage(ServiceError):
    """A decision whose button value, message and stored post do not agree."""

    def __init__(self, goal_id: str) -> None:
        super().__init__(
            f"That button names {goal_id}, but it was not clicked on a message that shows {goal_id}'s "
            "artifact, so nothing was decided. Use the buttons in the goal's own thread."
        )
