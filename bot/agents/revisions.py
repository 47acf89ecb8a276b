"""Revisions after "Request changes": number them, quote the feedback, keep the history readable.

An approval is bound to the sha256 of the version shown, so a redraft must never come back
byte-identical to the version it replaces. Each revision carries a "Changes in this version
(revision N)" section with the reviewer's words quoted; the sections of earlier revisions are
kept below it, renamed "Earlier changes". N only ever grows, which alone makes every redraft
differ from its predecessor. Pure string work.
"""

from __future__ import annotations

import re

from bot.agents.drafting import OFFLINE_LABEL, one_line

CURRENT = "Changes in this version"
EARLIER = "Earlier changes"
MAX_FEEDBACK_CHARS = 4000

_REVISION = re.compile(rf"^## (?:{CURRENT}|{EARLIER}) \(revision (\d+)\)[ \t]*$", re.MULTILINE)
_CURRENT_HEADING = re.compile(rf"^## {CURRENT} (\(revision \d+\))[ \t]*$", re.MULTILINE)


def next_revision(previous: str | None) -> int:
    """1 for a first draft; otherwise one more than the highest revision `previous` records
    (a previous version without any record is revision 1)."""
    if previous is None:
        return 1
    seen = [int(n) for n in _REVISION.findall(previous)]
    return max(seen, default=1) + 1


def quote(text: str) -> str:
    """`text` as a Markdown block quote, clipped so a huge paste cannot swamp the artifact."""
    text = text.strip()
    if len(text) > MAX_FEEDBACK_CHARS:
        text = text[:MAX_FEEDBACK_CHARS].rstrip() + " …"
    lines = text.splitlines() or [""]
    return "\n".join(f"> {line}".rstrip() for line in lines) if text else "> (no comment given)"


def changes_section(feedback: str, revision: int, notes: list[str]) -> str:
    body = [f"## {CURRENT} (revision {revision})", "", "Requested changes, quoted from the review:", ""]
    body.append(quote(feedback))
    if notes:
        body += ["", *(f"- {one_line(n)}" for n in notes if one_line(n))]
    return "\n".join(body)


def strip_label(markdown: str) -> str:
    """`markdown` without the offline label line at its top."""
    lines = markdown.lstrip("\n").splitlines()
    if lines and lines[0].strip() == OFFLINE_LABEL:
        lines = lines[1:]
    return "\n".join(lines).lstrip("\n")


def demote_changes(markdown: str) -> str:
    """Rename the previous version's "Changes in this version" to "Earlier changes"."""
    return _CURRENT_HEADING.sub(lambda m: f"## {EARLIER} {m.group(1)}", markdown)


def insert_after_title(markdown: str, block: str) -> str:
    """Put `block` right under the document's `# ` title (or on top when there is none)."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if line.startswith("# "):
            head, tail = lines[: i + 1], lines[i + 1 :]
            return "\n".join([*head, "", block, "", *tail]).rstrip("\n") + "\n"
        break
    return (block + "\n\n" + markdown.lstrip("\n")).rstrip("\n") + "\n"


def with_label(markdown: str) -> str:
    return OFFLINE_LABEL + "\n\n" + markdown.lstrip("\n")


def tidy(markdown: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", markdown).strip("\n") + "\n"
