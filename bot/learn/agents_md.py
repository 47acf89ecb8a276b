"""`AGENTS.md` for the target repository: what `orch learn` harvested, in the file coding agents read.

Codex and other coding agents read `AGENTS.md` at the root of a repository before they work in
it, so the harvested conventions go there too (as a diff through the same approval as the rest of
the harvest). The bot's part sits between two markers: a hand-written `AGENTS.md` keeps every
line outside them, and the next harvest replaces only what is inside.
"""

from __future__ import annotations

from bot.learn.files import Asset, Harvest

AGENTS_PATH = "AGENTS.md"
START = "<!-- orch learn: start (this part is rewritten by each approved harvest) -->"
END = "<!-- orch learn: end -->"
_NEW_FILE_HEAD = "# AGENTS.md\n\nInstructions for coding agents (and people) working in this repository.\n"


def section(harvest: Harvest, titles: dict[str, str]) -> str:
    """The marked section: one heading per harvested topic, its facts as bullets."""
    lines = [
        START,
        "## Conventions of this repository",
        "",
        "Harvested by `orch learn`; the full pages are under `patterns/conventions/` and the tool",
        "configuration under `adapters/`. Follow them when you change code here.",
    ]
    for topic in sorted(harvest.facts):
        lines += ["", f"### {titles.get(topic, topic.replace('-', ' ').capitalize())}", ""]
        lines += [f"- {fact}" for fact in harvest.facts[topic]]
    lines.append(END)
    return "\n".join(lines) + "\n"


def asset(harvest: Harvest, titles: dict[str, str]) -> Asset | None:
    if not harvest.facts:
        return None
    return Asset(AGENTS_PATH, section(harvest, titles), "agents", "agents-md", "orch learn")


def merge(existing: str | None, marked: str) -> str:
    """`existing` (the target's AGENTS.md, if any) with the marked section put in or replaced."""
    if not existing or not existing.strip():
        return _NEW_FILE_HEAD + "\n" + marked
    start, end = existing.find(START), existing.find(END)
    if start != -1 and end > start:
        return existing[:start] + marked.rstrip("\n") + existing[end + len(END) :]
    return existing.rstrip("\n") + "\n\n" + marked
