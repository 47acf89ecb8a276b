"""The App Home tab: what waits for the reader's approval, their goals by phase, recent activity.

Each list is capped, so the view stays far below Slack's 100 blocks however busy a team is.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.text import fit, link, mention
from bot.blocks.view_models import HomeView, MyGoal
from bot.sop.phases import LABELS, ORDER

HOME_CALLBACK_ID = "orch_home"
MAX_PENDING = 15
MAX_GOALS_PER_PHASE = 10
MAX_PHASE_GROUPS = 10
MAX_RECENT = 10


def build_home(v: HomeView) -> dict[str, Any]:
    blocks: list[Block] = [
        HeaderBlock(block_id="home_header", text="Codex Orchestrator"),
        ContextBlock(
            block_id="home_hello",
            elements=[MarkdownTextObject(text=f"Hi {mention(v.user)}. `/orch help` lists the commands.")],
        ),
        *_attention(v),
        *_pending(v),
        DividerBlock(block_id="home_div_goals"),
        *_my_goals(v.my_goals),
        DividerBlock(block_id="home_div_recent"),
        *_recent(v.recent),
    ]
    return View(type="home", callback_id=HOME_CALLBACK_ID, blocks=blocks).to_dict()


def _section(block_id: str, text: str) -> SectionBlock:
    return SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text))


def _more(block_id: str, hidden: int, what: str) -> ContextBlock:
    return ContextBlock(block_id=block_id, elements=[MarkdownTextObject(text=f"…and {hidden} more {what}")])


MAX_ATTENTION = 10


def _attention(v: HomeView) -> list[Block]:
    """Goals that cannot move until a person acts; shown only when there are some, one block."""
    if not v.attention:
        return []
    lines = [f"*⚠️ Needs attention* ({len(v.attention)})"]
    lines += [f"• *{fit(goal_id, 20)}* {fit(what, 200)}" for goal_id, what in v.attention[:MAX_ATTENTION]]
    if len(v.attention) > MAX_ATTENTION:
        lines.append(f"…and {len(v.attention) - MAX_ATTENTION} more (`orch effects list --status failed`)")
    return [_section("home_attention", "\n".join(lines))]


def _pending(v: HomeView) -> list[Block]:
    count = len(v.pending_approvals)
    blocks: list[Block] = [_section("home_pending_title", f"*⏳ Waiting for your approval* ({count})")]
    if not count:
        blocks.append(_section("home_pending_none", "_Nothing waits for you._"))
    for index, (goal_id, title, phase_label, age, sla, permalink) in enumerate(
        v.pending_approvals[:MAX_PENDING]
    ):
        name = link(permalink, f"{goal_id[:20]} · {title[:150]}")
        details = " · ".join(fit(part, 100) for part in (phase_label, age, sla) if part)
        blocks.append(_section(f"home_pending_{index}", f"*{name}*\n{details}"))
    if count > MAX_PENDING:
        blocks.append(_more("home_pending_more", count - MAX_PENDING, "waiting for you"))
    return blocks


def _phase_rank(label: str) -> tuple[int, str]:
    order = [LABELS[p] for p in ORDER]
    return (order.index(label), "") if label in order else (len(order), label)


def _my_goals(goals: list[MyGoal]) -> list[Block]:
    blocks: list[Block] = [_section("home_goals_title", f"*🎯 Your goals* ({len(goals)})")]
    if not goals:
        blocks.append(_section("home_goals_none", "_You have no goals yet. Try `/orch start`._"))
        return blocks
    groups: dict[str, list[MyGoal]] = {}
    for goal in goals:
        groups.setdefault(goal[2], []).append(goal)
    labels = sorted(groups, key=_phase_rank)
    for index, label in enumerate(labels[:MAX_PHASE_GROUPS]):
        members = groups[label]
        lines = [f"*{fit(label, 100)}*"]
        lines += [
            f"• {fit(goal_id, 20)} · {fit(title, 120)} — {fit(status, 40)}"
            for goal_id, title, _, status in members[:MAX_GOALS_PER_PHASE]
        ]
        if len(members) > MAX_GOALS_PER_PHASE:
            lines.append(f"…and {len(members) - MAX_GOALS_PER_PHASE} more")
        # At most 11 lines of under 200 characters each: well inside a section's 3000.
        blocks.append(_section(f"home_goals_{index}", "\n".join(lines)))
    hidden = sum(len(groups[label]) for label in labels[MAX_PHASE_GROUPS:])
    if hidden:
        blocks.append(_more("home_goals_more", hidden, "goals in other phases"))
    return blocks


def _recent(recent: list[str]) -> list[Block]:
    blocks: list[Block] = [_section("home_recent_title", "*🕘 Recent activity*")]
    if not recent:
        blocks.append(_section("home_recent_none", "_Nothing yet._"))
        return blocks
    lines = "\n".join(f"• {fit(entry, 200)}" for entry in recent[:MAX_RECENT])
    blocks.append(_section("home_recent_list", lines))
    if len(recent) > MAX_RECENT:
        blocks.append(_more("home_recent_more", len(recent) - MAX_RECENT, "earlier"))
    return blocks
