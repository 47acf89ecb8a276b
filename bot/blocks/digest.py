"""The daily digest of a channel: goals by phase, approvals waiting, overdue SLAs, jobs, what completed.

It stays within Block Kit's limits whatever the numbers: each list shows its first few lines and
says how many more there are, and the complete digest comes back as Markdown for the caller to
upload as a file (500 goals fit in a handful of blocks and a file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.limits import MAX_HEADER_TEXT
from bot.blocks.text import fit, mention, mentions, plain, truncate

MAX_LINES = 10  # per list in the message; the file has them all
LINE_CHARS = 260
SECTION_CHARS = 2900


@dataclass(frozen=True)
class WaitingLine:
    goal_id: str
    title: str
    phase_label: str
    version: int
    age: str
    waiting_on: list[str] = field(default_factory=list)
    overdue: bool = False


@dataclass(frozen=True)
class JobLine:
    goal_id: str
    doing: str
    state: str  # running | failed
    detail: str  # "for 12m" or the error


@dataclass(frozen=True)
class DoneLine:
    goal_id: str
    title: str
    what: str  # "done", "PRD v1 approved by <@U…>"


@dataclass(frozen=True)
class DigestView:
    channel_id: str
    day_label: str  # "Sunday 30 March 2025"
    since_label: str  # "since Sat 29 Mar 09:00 CET"
    by_phase: list[tuple[str, int]] = field(default_factory=list)
    waiting: list[WaitingLine] = field(default_factory=list)
    jobs: list[JobLine] = field(default_factory=list)
    completed: list[DoneLine] = field(default_factory=list)
    going_stale: list[str] = field(default_factory=list)  # "G-0001 PRD v2 goes stale on 24 Dec"
    metrics: list[str] = field(default_factory=list)  # the team's numbers (bot.observability.metrics), short

    @property
    def active(self) -> int:
        return sum(n for _, n in self.by_phase)

    @property
    def overdue(self) -> list[WaitingLine]:
        return [w for w in self.waiting if w.overdue]


def _waiting_line(w: WaitingLine) -> str:
    mark = "🔴 " if w.overdue else ""
    return (
        f"• {mark}*{w.goal_id}* {fit(w.title, 80)} — {fit(w.phase_label, 30)} v{w.version}, waiting {w.age}, "
        f"on {mentions(w.waiting_on, empty='nobody', limit=3)}"
    )


def _job_line(j: JobLine) -> str:
    icon = "⏳" if j.state == "running" else "❌"
    return f"• {icon} *{j.goal_id}* {fit(j.doing, 90)} — {fit(j.detail, 120)}"


def _done_line(d: DoneLine) -> str:
    return f"• *{d.goal_id}* {fit(d.title, 80)} — {d.what}"


def _section(block_id: str, title: str, lines: list[str], empty: str) -> tuple[dict[str, Any], bool]:
    shown = [truncate(line, LINE_CHARS) for line in lines[:MAX_LINES]]
    more = len(lines) - len(shown)
    body = "\n".join(shown) if shown else f"_{empty}_"
    if more:
        body += f"\n…and {more} more (in the attached file)"
    text = truncate(f"{title}\n{body}", SECTION_CHARS)
    return SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text)).to_dict(), more > 0


def build_digest(v: DigestView) -> tuple[list[dict[str, Any]], str | None, str]:
    """(blocks, full Markdown to upload when a list was cut or None, fallback text)."""
    phases = " · ".join(f"{fit(label, 30)} {n}" for label, n in v.by_phase) or "no active goals"
    summary = (
        f"*{v.active} active goal{'s' if v.active != 1 else ''}* in {mention(v.channel_id)}: {phases}\n"
        f"{len(v.waiting)} waiting for approval · {len(v.overdue)} past their SLA · "
        f"{sum(1 for j in v.jobs if j.state == 'running')} jobs running · "
        f"{sum(1 for j in v.jobs if j.state == 'failed')} failed · {len(v.completed)} completed"
    )
    waiting_lines = [_waiting_line(w) for w in sorted(v.waiting, key=lambda w: (not w.overdue, w.goal_id))]
    overdue_lines = [_waiting_line(w) for w in v.overdue]
    sections = [
        (
            "digest_waiting",
            f"⏳ *Waiting for approval* ({len(v.waiting)})",
            waiting_lines,
            "nothing is waiting",
        ),
        ("digest_overdue", f"🔴 *Past their approval SLA* ({len(v.overdue)})", overdue_lines, "none"),
        (
            "digest_jobs",
            f"⚙️ *Agent jobs* ({len(v.jobs)})",
            [_job_line(j) for j in v.jobs],
            "none running or failed",
        ),
        (
            "digest_done",
            f"✅ *Completed {fit(v.since_label, 60)}* ({len(v.completed)})",
            [_done_line(d) for d in v.completed],
            "nothing yet",
        ),
    ]
    if v.going_stale:  # shown only when something goes stale within the week
        sections.append(
            ("digest_stale", f"🗓️ *Going stale this week* ({len(v.going_stale)})", v.going_stale, "none")
        )
    blocks = [
        HeaderBlock(
            block_id="digest_header", text=truncate(plain(f"Daily digest · {v.day_label}"), MAX_HEADER_TEXT)
        ).to_dict(),
        SectionBlock(block_id="digest_summary", text=MarkdownTextObject(text=fit_raw(summary))).to_dict(),
    ]
    if v.metrics:
        sections.append(
            ("digest_metrics", "📈 *Team metrics, last 7 days*", [f"• {m}" for m in v.metrics], "")
        )
    cut = False
    for block_id, title, lines, empty in sections:
        block, more = _section(block_id, title, lines, empty)
        blocks.append(block)
        cut = cut or more
    if cut:
        blocks.append(
            ContextBlock(
                block_id="digest_more",
                elements=[
                    MarkdownTextObject(
                        text=f"Each list shows its first {MAX_LINES}; the full digest is attached as a file."
                    )
                ],
            ).to_dict()
        )
    text = (
        f"Daily digest for {v.day_label}: {v.active} active, {len(v.waiting)} waiting for approval, "
        f"{len(v.overdue)} overdue"
    )
    full = None
    if cut:
        parts = [f"# Daily digest · {v.day_label}", "", summary.replace("*", "**"), ""]
        for _block_id, title, lines, _empty in sections:
            parts += [f"## {title.replace('*', '')}", "", *(line.replace("*", "**") for line in lines), ""]
        full = "\n".join(parts)
    return blocks, full, text


def fit_raw(text: str) -> str:
    """Our own mrkdwn (already escaped where needed), cut to a section's limit."""
    return truncate(text, SECTION_CHARS)


def digest_as_text(blocks: list[dict[str, Any]]) -> str:
    """The digest's blocks as plain lines, for `orch digest --dry-run`."""
    out: list[str] = []
    for block in blocks:
        if block.get("type") in ("header", "section"):
            out.append(str(block["text"]["text"]))
        elif block.get("type") == "context":
            out.extend(str(e.get("text", "")) for e in block.get("elements", []))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
