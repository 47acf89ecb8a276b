"""The goal card: the first message of a goal's thread, updated in place as the goal moves."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.elevation import elevation_button
from bot.blocks.limits import MAX_FIELD_TEXT, MAX_HEADER_TEXT
from bot.blocks.text import fit, link, mention, mentions, mrkdwn, plain, slack_date, truncate
from bot.blocks.view_models import GoalCardView
from bot.sop.phases import ORDER, GoalState, Mode, Phase, PhaseStatus

MODE_LABELS: dict[Mode, str] = {
    Mode.READ_ONLY: "🔒 read-only",
    Mode.WORKSPACE_WRITE: "✏️ workspace-write",
    Mode.FULL_ACCESS: "⚠️ full-access",
}

STATUS_LABELS: dict[PhaseStatus, str] = {
    PhaseStatus.DRAFTING: "✍️ Drafting",
    PhaseStatus.AWAITING_APPROVAL: "⏳ Awaiting approval",
    PhaseStatus.CHANGES_REQUESTED: "✏️ Changes requested",
    PhaseStatus.APPROVED: "✅ Approved",
    PhaseStatus.REJECTED: "⛔ Rejected",
    PhaseStatus.EXPIRED: "⌛ Expired",
    PhaseStatus.SKIPPED: "⏭ Skipped",
    PhaseStatus.BLOCKED: "🧱 Blocked: a merge conflicts with main",
    PhaseStatus.FAILED: "⚠️ Failed: needs a person",
}

# A goal that is no longer active says so instead of the phase status.
STATE_LABELS: dict[GoalState, str] = {
    GoalState.DONE: "🎉 Done",
    GoalState.REJECTED: "⛔ Goal rejected",
    GoalState.CANCELLED: "✖ Cancelled",
}

# Short names keep the progress line on one line on a phone.
SHORT_LABELS: dict[Phase, str] = {
    Phase.SCAFFOLD_CHECK: "Scaffold",
    Phase.PRD: "PRD",
    Phase.TASK_LIST: "Task List",
    Phase.SPEC: "Spec",
    Phase.ACTION_PLAN: "Plan",
    Phase.IMPLEMENTATION: "Impl",
}

_CURRENT_MARKS: dict[GoalState, str] = {
    GoalState.ACTIVE: "▶",
    GoalState.REJECTED: "⛔",
    GoalState.CANCELLED: "✖",
    GoalState.DONE: "✅",
}


# A goal whose gates are all approved is not done while a commit or merge of it is unmade.
HELD_LABELS = {"finishing": "⏳ Finishing commits and merges", "failed": "⚠️ A commit or merge failed"}


def status_text(status: PhaseStatus | str, state: GoalState | str, held: str | None = None) -> str:
    goal_state = GoalState(state)
    if goal_state is GoalState.DONE and held in HELD_LABELS:
        return HELD_LABELS[held]
    if goal_state is not GoalState.ACTIVE:
        return STATE_LABELS[goal_state]
    return STATUS_LABELS[PhaseStatus(status)]


def progress_line(phase: Phase | str, state: GoalState | str, spec_required: bool | None) -> str:
    """`✅ Scaffold · ✅ PRD · *▶ Task List* · ○ Spec · ○ Plan · ○ Impl`."""
    current = Phase(phase)
    goal_state = GoalState(state)
    finished = current is Phase.DONE or goal_state is GoalState.DONE
    at = ORDER.index(current)
    parts: list[str] = []
    for index, step in enumerate(ORDER[:-1]):
        label = SHORT_LABELS[step]
        if step is Phase.SPEC and spec_required is False:
            parts.append(f"⏭ {label}")
        elif finished or index < at:
            parts.append(f"✅ {label}")
        elif index == at:
            parts.append(f"*{_CURRENT_MARKS[goal_state]} {label}*")
        else:
            parts.append(f"○ {label}")
    return " · ".join(parts)


def spec_text(required: bool | None, triggers: list[str]) -> str:
    if required is None:
        return "Not assessed yet"
    if not required:
        return "Not required"
    if not triggers:
        return "Required"
    return "Required: " + fit(", ".join(triggers), MAX_FIELD_TEXT - 100)


def header_text(goal_id: str, title: str) -> str:
    return truncate(plain(f"{goal_id} · {title}"), MAX_HEADER_TEXT)


def goal_card_text(v: GoalCardView) -> str:
    """The notification fallback: what a push notification or a screen reader shows."""
    status = status_text(v.status, v.state, v.held)
    return fit(f"{v.goal_id} · {plain(v.title)} — {v.phase_label}: {status}", 300)


def _field(name: str, value: str) -> MarkdownTextObject:
    # Values arrive escaped and already cut to size, so a cut here can never split an entity.
    return MarkdownTextObject(text=f"*{name}*\n{value}")


def build_goal_card(v: GoalCardView) -> list[dict[str, Any]]:
    fields = [
        _field("Requester", mention(v.requester)),
        _field("Phase", fit(v.phase_label, 200)),
        _field("Status", status_text(v.status, v.state, v.held)),
        _field("Mode", MODE_LABELS[Mode(v.mode)]),
        _field("Next approvers", mentions(v.next_approvers)),
        _field("SLA due", slack_date(v.sla_due) if v.sla_due else "—"),
        _field("Spec", spec_text(v.spec_required, v.spec_triggers)),
    ]
    context = [MarkdownTextObject(text=mrkdwn(v.goal_id[:100]).strip() or "—")]
    if v.offline:
        context.append(MarkdownTextObject(text="Drafted offline (no model)"))
    if v.thread_permalink:
        context.append(MarkdownTextObject(text=link(v.thread_permalink, "Open thread")))
    if v.pull_request_url:
        context.append(MarkdownTextObject(text=link(v.pull_request_url, "Pull request")))
    if v.cost:
        context.append(MarkdownTextObject(text=f"Cost: {mrkdwn(fit(v.cost, 200))}"))
    blocks: list[Block] = [
        HeaderBlock(block_id="goal_card_header", text=header_text(v.goal_id, v.title)),
        SectionBlock(block_id="goal_card_fields", fields=fields),
        SectionBlock(
            block_id="goal_card_progress",
            text=MarkdownTextObject(text=progress_line(v.phase, v.state, v.spec_required)),
        ),
        ContextBlock(block_id="goal_card_context", elements=context),
    ]
    if v.offer_elevation and GoalState(v.state) is GoalState.ACTIVE and Mode(v.mode) is not Mode.FULL_ACCESS:
        blocks.append(ActionsBlock(block_id="goal_card_actions", elements=[elevation_button(v.goal_id)]))
    return [b.to_dict() for b in blocks]
