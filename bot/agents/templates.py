"""Phase templates: which sections an artifact has, and filling those sections with a draft.

A template is Markdown: a title line with `{title}` / `{goal_id}` placeholders, guidance in HTML
comments, and one `## ` heading per section. A target repository may bring its own templates
(`patterns/templates/<name>.md`, then `tasks/templates/<name>.md`); drafts are always poured into
whichever template applies, so a team's own headings and order win. Section bodies the draft has
no heading for are appended at the end rather than lost.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

from bot.sop.phases import Phase

logger = logging.getLogger(__name__)

TEMPLATE_NAMES: dict[Phase, str] = {
    Phase.PRD: "prd",
    Phase.TASK_LIST: "tasks",
    Phase.SPEC: "spec",
    Phase.ACTION_PLAN: "action-plan",
}
# Folders of a target repository searched for overrides, first match wins.
OVERRIDE_DIRS: tuple[str, ...] = ("patterns/templates", "tasks/templates")
MAX_TEMPLATE_BYTES = 64 * 1024
NOT_COVERED = "_Not covered by this draft._"

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{(title|goal_id)\}")
_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$")


def template_name(phase: Phase) -> str:
    try:
        return TEMPLATE_NAMES[phase]
    except KeyError:
        raise ValueError(f"phase {phase.value!r} has no drafting template") from None


def builtin_template(phase: Phase) -> str:
    name = template_name(phase)
    return resources.files("bot.sop").joinpath("templates", f"{name}.md").read_text(encoding="utf-8")


def _read_override(repo_path: Path, relative: str) -> str | None:
    """The override's text, or None when it is absent or unusable.

    A symlink that leads out of the repository is refused: its target would be posted to Slack.
    """
    candidate = repo_path / relative
    if not candidate.is_file():
        return None
    try:
        candidate.resolve().relative_to(repo_path.resolve())
    except ValueError:
        logger.warning("ignoring template %s: it points outside the repository", relative)
        return None
    data = candidate.read_bytes()
    if len(data) > MAX_TEMPLATE_BYTES:
        logger.warning("ignoring template %s: larger than %d bytes", relative, MAX_TEMPLATE_BYTES)
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        logger.warning("ignoring template %s: not UTF-8", relative)
        return None


def load_template(phase: Phase, repo_path: Path | None = None) -> str:
    """The repository's template for `phase` if it has one, else the built-in one."""
    name = template_name(phase)
    if repo_path is not None:
        for folder in OVERRIDE_DIRS:
            text = _read_override(repo_path, f"{folder}/{name}.md")
            if text is not None:
                return text
    return builtin_template(phase)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("ch", "sh", "x", "ss")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def heading_key(heading: str) -> str:
    """A loose key so "Users & stories", "Users and stories" and "User stories" meet."""
    words = re.findall(r"[a-z0-9]+", heading.lower())
    return " ".join(_singular(w) for w in words if w != "and")


def section_headings(template: str) -> list[str]:
    """The `## ` headings of a template, in order (headings inside comments do not count)."""
    text = _COMMENT.sub("", template)
    return [m.group(1) for line in text.splitlines() if (m := _HEADING.match(line))]


def fill_template(template: str, *, title: str, goal_id: str, sections: list[tuple[str, str]]) -> str:
    """Pour `sections` ((heading, markdown body) pairs) into the template's headings.

    Guidance comments are dropped; a template heading the draft does not cover says so; draft
    sections the template lacks follow at the end in the draft's order.
    """
    values = {"title": _one_line(title), "goal_id": _one_line(goal_id)}
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], _COMMENT.sub("", template))
    bodies: dict[str, str] = {}
    for heading, body in sections:
        bodies.setdefault(heading_key(heading), body)

    out: list[str] = []
    used: set[str] = set()
    in_section = False
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            key = heading_key(match.group(1))
            out += ["", f"## {match.group(1)}", "", bodies.get(key, NOT_COVERED).strip() or NOT_COVERED]
            used.add(key)
            in_section = True
        elif not in_section:
            out.append(line.rstrip())
        # Text under a template heading is guidance for the writer; the draft replaces it.
    for heading, body in sections:
        key = heading_key(heading)
        if key not in used:
            out += ["", f"## {heading}", "", body.strip() or NOT_COVERED]
            used.add(key)
    return _tidy("\n".join(out))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tidy(markdown: str) -> str:
    """No runs of blank lines, no leading blank lines, exactly one trailing newline."""
    return re.sub(r"\n{3,}", "\n\n", markdown).strip("\n") + "\n"
