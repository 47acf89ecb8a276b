"""Block Kit for Slack, as pure builders on `slack_sdk.models`: data in, payload dicts out.

Handlers and services call these and send the result; nothing here talks to Slack or the database.
"""

from bot.blocks.artifact import build_artifact_message, build_decided_artifact_message
from bot.blocks.buttons import (
    APPROVE_ACTION,
    DECISION_ACTIONS,
    REJECT_ACTION,
    REQUEST_CHANGES_ACTION,
    decode_button_value,
    encode_button_value,
)
from bot.blocks.diff import build_decided_diff_message, build_diff_message
from bot.blocks.elevation import (
    DENY_MODE_ACTION,
    GRANT_MODE_ACTION,
    REQUEST_ELEVATION_ACTION,
    ModeRequestView,
    build_mode_decided_message,
    build_mode_request_message,
    decode_mode_value,
    encode_mode_value,
)
from bot.blocks.goal_card import build_goal_card, goal_card_text
from bot.blocks.home import build_home
from bot.blocks.limits import check_message, check_view
from bot.blocks.messages import (
    build_ephemeral_error,
    build_help_blocks,
    build_help_text,
    build_status_message,
)
from bot.blocks.modals import (
    ELEVATE_MODAL,
    FEEDBACK_MODAL,
    REJECT_MODAL,
    START_MODAL,
    build_elevate_modal,
    build_feedback_modal,
    build_reject_modal,
    build_start_modal,
    parse_view_values,
)
from bot.blocks.start_again import START_ANOTHER_ACTION, build_duplicate_start, decode_start_another
from bot.blocks.view_models import ArtifactView, ButtonRef, DecisionView, DiffView, GoalCardView, HomeView

__all__ = [
    "APPROVE_ACTION",
    "DECISION_ACTIONS",
    "DENY_MODE_ACTION",
    "ELEVATE_MODAL",
    "FEEDBACK_MODAL",
    "GRANT_MODE_ACTION",
    "REJECT_ACTION",
    "REJECT_MODAL",
    "REQUEST_CHANGES_ACTION",
    "REQUEST_ELEVATION_ACTION",
    "START_ANOTHER_ACTION",
    "START_MODAL",
    "ArtifactView",
    "ButtonRef",
    "DecisionView",
    "DiffView",
    "GoalCardView",
    "HomeView",
    "ModeRequestView",
    "build_artifact_message",
    "build_decided_artifact_message",
    "build_decided_diff_message",
    "build_diff_message",
    "build_duplicate_start",
    "build_elevate_modal",
    "build_ephemeral_error",
    "build_feedback_modal",
    "build_goal_card",
    "build_help_blocks",
    "build_help_text",
    "build_home",
    "build_mode_decided_message",
    "build_mode_request_message",
    "build_reject_modal",
    "build_start_modal",
    "build_status_message",
    "check_message",
    "check_view",
    "decode_button_value",
    "decode_mode_value",
    "decode_start_another",
    "encode_button_value",
    "encode_mode_value",
    "goal_card_text",
    "parse_view_values",
]
