"""Storage filters on a few values of the procedure's vocabulary without importing it (storage
imports nothing from the bot): they must stay the values the procedure writes."""

from bot.sop.phases import GoalState, PhaseStatus
from storage.repositories import open_gates


def test_the_open_gates_read_filters_on_the_procedures_own_state_and_status_values() -> None:
    assert GoalState.ACTIVE.value == open_gates.ACTIVE
    assert PhaseStatus.AWAITING_APPROVAL.value == open_gates.AWAITING_APPROVAL
