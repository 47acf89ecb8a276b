"""The thread message of a goal that reached its budget: Raise budget (a modal) or Stop goal.

The buttons name the goal only (bot/blocks/goal_buttons.py); a raise acts on the goal's budget as it
is when the form is sent (bot/services/budgets.py).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.goal_buttons import build_outcome, encode_message_metadata
from bot.blocks.goal_buttons import decode_goal_value as decode_goal_value
from bot.blocks.text import fit

RAISE_ACTION = "orch_budget_raise"
STOP_ACTION = "orch_budget_stop"
RAISE_MODAL = "orch_budget_modal"
BUDGET_FIELD = "budget"

encode_budget_metadata = encode_message_metadata


def _money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def budget_paused_text(goal_id: str, cost: float, budget: float) -> str:
    return (
        f"⏸ {goal_id} reached its budget: {_money(cost)} spent of {_money(budget)}. "
        "Its agent work is paused until an approver raises the budget or stops the goal."
    )


def build_budget_paused(goal_id: str, cost: float, budget: float) -> list[dict[str, Any]]:
    text = (
        f"*{fit(budget_paused_text(goal_id, cost, budget), 400, escape=lambda t: t)}*\n"
        "*Raise budget* sets a new budget and runs the paused work again; *Stop goal* cancels it."
    )
    blocks = [
        SectionBlock(block_id="budget_paused", text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id="budget_paused_actions",
            elements=[
                ButtonElement(text="Raise budget", action_id=RAISE_ACTION, value=goal_id, style="primary"),
                ButtonElement(
                    text="Stop goal",
                    action_id=STOP_ACTION,
                    value=goal_id,
                    style="danger",
                    confirm=ConfirmObject(
                        title="Stop the goal?",
                        text=f"{goal_id} is cancelled; its work so far stays in the audit log.",
                        confirm="Stop goal",
                        deny="Keep it",
                    ),
                ),
            ],
        ),
    ]
    return [b.to_dict() for b in blocks]


def build_budget_outcome(outcome: str) -> list[dict[str, Any]]:
    return build_outcome("budget_outcome", outcome)


def build_raise_modal(goal_id: str, suggested: float, private_metadata: str) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=RAISE_MODAL,
        title="Raise budget",
        submit="Raise",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(
                block_id="about",
                text=MarkdownTextObject(
                    text=f"*{fit(goal_id, 40)}*: the new budget in US dollars for its model usage."
                ),
            ),
            InputBlock(
                block_id=BUDGET_FIELD,
                label="New budget (USD)",
                element=PlainTextInputElement(
                    action_id=BUDGET_FIELD, initial_value=f"{suggested:.2f}", min_length=1, max_length=20
                ),
            ),
        ],
    )
    return view.to_dict()
