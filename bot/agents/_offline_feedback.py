"""What the offline drafter can apply of a reviewer's "Request changes", without a model.

The feedback is read clause by clause (one per line or `;`). A clause in one of these forms is
applied to the previous version; anything else is listed back as not applied, in plain words, so
nobody mistakes a carried-over draft for one that took the request into account:

- `split task 2` (or `split task 2 into <title> and <title>`): two tasks, the criteria shared out
- `remove task 3` (`drop`, `delete`): later tasks move up, dependencies follow
- `rename task 2 to <title>`
- `add an acceptance criterion to task 2: <text>`; on a PRD `add an acceptance criterion: <text>`
- `rename "<old>" to "<new>"`: the words replaced in the previous version's text

Pure string and record work: the same feedback on the same version gives the same result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.agents.drafting import PlannedTask, TaskListDraft, one_line
from bot.sop.phases import Phase
from bot.sop.records import TaskRecord

_Q = "[\"'“”‘’`]?"
_SPLIT = re.compile(rf"^split task #?(\d+)(?: into {_Q}(.+?){_Q} and {_Q}(.+?){_Q})?$", re.IGNORECASE)
_REMOVE = re.compile(r"^(?:remove|drop|delete) task #?(\d+)$", re.IGNORECASE)
_RENAME_TASK = re.compile(rf"^rename task #?(\d+) (?:to|as) {_Q}(.+?){_Q}$", re.IGNORECASE)
_CRITERION = re.compile(
    r"^add (?:an? |another )?acceptance criteri(?:on|a)(?: (?:to|for|on) task #?(\d+))?\s*[:—–-]\s*(.+)$",
    re.IGNORECASE,
)
_RENAME_TEXT = re.compile(r"^rename [\"“'‘`](.+?)[\"”'’`] (?:to|as) [\"“'‘`](.+?)[\"”'’`]$", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)  # what was done, one line each
    not_applied: list[str] = field(default_factory=list)  # the reviewer's clause, and why


def clauses(feedback: str) -> list[str]:
    out = []
    for line in feedback.splitlines():
        for part in line.split(";"):
            text = _BULLET.sub("", part.strip()).strip().rstrip(".").strip()
            if text:
                out.append(text)
    return out


def _planned(t: TaskRecord) -> PlannedTask:
    return PlannedTask(
        id=int(t.id),
        title=t.title,
        description=t.description,
        priority=t.priority if t.priority in ("high", "medium", "low") else "medium",
        dependencies=[int(d) for d in t.dependencies if str(d).isdigit()],
        files=list(t.files),
        acceptance_criteria=list(t.acceptance_criteria),
        test_strategy=t.testStrategy,
        details=t.details,
    )


def apply_to_tasks(tasks: list[TaskRecord], feedback: str) -> tuple[list[TaskRecord], Outcome]:
    """The task list with what the feedback asks of it applied (ids renumbered 1..n).

    Task numbers are the previous version's, as the reviewer saw them: renames and criteria go
    first, then removals and splits from the highest number down, so none shifts another.
    """
    planned = [_planned(t) for t in tasks]
    ids = {t.id for t in planned}
    outcome = Outcome()
    structural: list[tuple[int, str, re.Match[str]]] = []
    for clause in clauses(feedback):
        m = _SPLIT.match(clause) or _REMOVE.match(clause) or _RENAME_TASK.match(clause)
        c = _CRITERION.match(clause)
        if m is None and c is None:
            outcome.not_applied.append(f"“{clause}”")
            continue
        if c is not None and c.group(1) is None:
            outcome.not_applied.append(
                f"“{clause}”: which task? Say “add an acceptance criterion to task 2: …”"
            )
            continue
        n = int((m or c).group(1))  # type: ignore[union-attr]
        if n not in ids:
            outcome.not_applied.append(f"“{clause}”: the previous version has no task {n}")
        elif c is not None:
            text = one_line(c.group(2))
            planned = [
                t.model_copy(update={"acceptance_criteria": [*t.acceptance_criteria, text]})
                if t.id == n
                else t
                for t in planned
            ]
            outcome.applied.append(f"Added an acceptance criterion to task {n}: {text}")
        elif m is not None and m.re is _RENAME_TASK:
            title = one_line(m.group(2))
            planned = [t.model_copy(update={"title": title}) if t.id == n else t for t in planned]
            outcome.applied.append(f"Renamed task {n} to “{title}”")
        elif m is not None:
            structural.append((n, clause, m))
    removed: set[int] = set()
    for n, clause, m in sorted(structural, key=lambda op: -op[0]):
        if n in removed:
            outcome.not_applied.append(f"“{clause}”: task {n} was removed")
        elif m.re is _REMOVE and len(planned) == 1:
            outcome.not_applied.append(f"“{clause}”: it is the only task")
        elif m.re is _REMOVE:
            planned = _remove(planned, n)
            removed.add(n)
            outcome.applied.append(f"Removed task {n} (later tasks moved up; dependencies on it dropped)")
        else:
            planned = _split(planned, n, m.group(2), m.group(3))
            outcome.applied.append(f"Split task {n} in two (later tasks moved down)")
    return [t.to_record() for t in planned], outcome


def _split(tasks: list[PlannedTask], n: int, first: str | None, second: str | None) -> list[PlannedTask]:
    """Task n becomes n (first half of its criteria) and n+1 (the rest, after n); later tasks
    move down one, and whatever depended on the whole task now depends on its second part."""

    def moved(d: int) -> int:
        return d if d < n else d + 1

    out: list[PlannedTask] = []
    for t in tasks:
        if t.id < n:
            out.append(t)
        elif t.id > n:
            out.append(
                t.model_copy(
                    update={"id": t.id + 1, "dependencies": sorted({moved(d) for d in t.dependencies})}
                )
            )
        else:
            half = (len(t.acceptance_criteria) + 1) // 2
            out.append(
                t.model_copy(
                    update={
                        "title": one_line(first) if first else f"{t.title} (part 1)",
                        "acceptance_criteria": t.acceptance_criteria[:half],
                    }
                )
            )
            out.append(
                t.model_copy(
                    update={
                        "id": n + 1,
                        "title": one_line(second) if second else f"{t.title} (part 2)",
                        "acceptance_criteria": t.acceptance_criteria[half:],
                        "dependencies": sorted({*t.dependencies, n}),
                    }
                )
            )
    return out


def _remove(tasks: list[PlannedTask], n: int) -> list[PlannedTask]:
    """Task n goes; later tasks move up one and dependencies on task n are dropped."""

    def moved(d: int) -> int:
        return d if d < n else d - 1

    return [
        t.model_copy(
            update={
                "id": moved(t.id),
                "dependencies": sorted({moved(d) for d in t.dependencies if d != n}),
            }
        )
        for t in tasks
        if t.id != n
    ]


def render_tasks(records: list[TaskRecord], overview: str, open_questions: list[str]) -> dict[str, str]:
    """The task list's "Tasks" and "Task details" section bodies for `records`."""
    draft = TaskListDraft(
        title="-",
        summary="-",
        overview=overview,
        tasks=[_planned(r) for r in records],
        open_questions=open_questions,
    )
    return {heading: body for heading, body in draft.sections() if heading in ("Tasks", "Task details")}


def replace_section(markdown: str, heading: str, body: str) -> str:
    """`markdown` with the body of its `## heading` section replaced (appended when missing)."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().lower() == f"## {heading}".lower()), None)
    if start is None:
        return markdown.rstrip("\n") + f"\n\n## {heading}\n\n{body.strip()}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[: start + 1], "", body.strip(), "", *lines[end:]]).rstrip("\n") + "\n"


def apply_to_document(phase: Phase, markdown: str, feedback: str) -> tuple[str, Outcome]:
    """A PRD, spec or action plan with what a template can apply: a criterion added to the
    PRD's acceptance criteria, quoted words renamed."""
    outcome = Outcome()
    for clause in clauses(feedback):
        if (m := _CRITERION.match(clause)) and m.group(1) is None and phase is Phase.PRD:
            text = one_line(m.group(2))
            markdown = _add_bullet(markdown, "Acceptance criteria", f"- [ ] {text}")
            outcome.applied.append(f"Added an acceptance criterion: {text}")
        elif m := _RENAME_TEXT.match(clause):
            old, new = m.group(1), one_line(m.group(2))
            if old not in markdown:
                outcome.not_applied.append(f"“{clause}”: the previous version does not contain “{old}”")
                continue
            # Quoted lines are someone's words (the brief, earlier feedback): they stay as said.
            markdown = "\n".join(
                line if line.lstrip().startswith(">") else line.replace(old, new)
                for line in markdown.split("\n")
            )
            outcome.applied.append(f"Renamed “{old}” to “{new}” throughout")
        else:
            outcome.not_applied.append(f"“{clause}”")
    return markdown, outcome


def _add_bullet(markdown: str, heading: str, bullet: str) -> str:
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().lower() == f"## {heading}".lower()), None)
    if start is None:
        return markdown.rstrip("\n") + f"\n\n## {heading}\n\n{bullet}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    body = [line for line in lines[start + 1 : end] if line.strip() and line.strip() != "_None._"]
    return "\n".join([*lines[: start + 1], "", *body, bullet, "", *lines[end:]]).rstrip("\n") + "\n"
