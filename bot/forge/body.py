"""The pull request's title and description: the brief, the Slack thread, and every approved artifact
with the hash its approval is bound to. Pure: data in, Markdown out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.forge.port import Check

MARKER = "<!-- codex-orchestrator -->"
MAX_BODY = 60_000  # GitHub refuses bodies over 65,536 characters


@dataclass(frozen=True)
class ArtifactRow:
    phase: str  # a label: "PRD", "Implementation (task 2)"
    version: int
    sha256: str
    approved_by: Sequence[str]
    at: datetime
    stale: bool = False  # changed on the branch after approval: the approval no longer counts


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def pr_title(goal_id: str, title: str) -> str:
    return f"{goal_id}: {' '.join(title.split())}"[:256]


def pr_body(
    *, goal_id: str, brief: str, thread_url: str | None, rows: Sequence[ArtifactRow], state_line: str
) -> str:
    quoted = (
        "\n".join(f"> {line}" if line.strip() else ">" for line in brief.strip().splitlines())
        or "> (no brief)"
    )
    lines = [
        MARKER,
        f"**{goal_id}**, delivered gate by gate by Codex-Orchestrator.",
        "",
        "### Brief",
        quoted,
        "",
    ]
    lines.append(
        f"**Slack thread:** {thread_url}" if thread_url else "**Slack thread:** (started outside Slack)"
    )
    lines += ["", "### Approved artifacts", ""]
    if rows:
        lines += ["| Phase | Version | sha256 | Approved by | When |", "|---|---|---|---|---|"]
        for row in rows:
            who = ", ".join(row.approved_by) or "—"
            if row.stale:
                who = f"~~{who}~~ (changed after approval; no longer counts)"
            when = row.at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(
                f"| {_cell(row.phase)} | v{row.version} | `{row.sha256[:12]}` | {_cell(who)} | {when} |"
            )
    else:
        lines.append("No gate approved yet.")
    lines += [
        "",
        f"**Gates:** {state_line}",
        "",
        "_This description is kept up to date by the bot; edits are overwritten._",
    ]
    body = "\n".join(lines) + "\n"
    return body if len(body) <= MAX_BODY else body[: MAX_BODY - 20] + "\n\n(cut)\n"


def ci_text(checks: Sequence[Check], sha: str) -> str | None:
    """`CI on abc1234: 2 passed, 1 failed — tests (details)`; None when the commit has no checks."""
    if not checks:
        return None
    counts = [
        (n, s) for s in ("passed", "failed", "pending") if (n := sum(1 for c in checks if c.state == s))
    ]
    line = f"CI on `{sha[:7]}`: " + ", ".join(f"{n} {s}" for n, s in counts)
    failed = [c for c in checks if c.state == "failed"]
    if failed:
        named = ", ".join(
            f"<{c.url}|{_cell(c.name)}>" if c.url and c.url.startswith("http") else _cell(c.name)
            for c in failed[:5]
        )
        line += f" — failing: {named}"
    mark = "❌" if failed else ("⏳" if any(c.state == "pending" for c in checks) else "✅")
    return f"{mark} {line}"
