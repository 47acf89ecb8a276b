"""A Task Master import as a Task List draft: the tasks as Markdown, with what changed.

An import never writes `tasks/index.json` itself: it becomes the next version of the goal's Task
List, shown with its differences from the current one and approved like any draft. Pure text work.
"""

from __future__ import annotations

from bot.sop.records import TaskRecord


def _line(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _deps(task: TaskRecord) -> str:
    return ", ".join(str(d) for d in task.dependencies) or "—"


def task_changes(current: list[TaskRecord], proposed: list[TaskRecord]) -> list[str]:
    """One line per task added, removed or changed (by id); empty when the lists are the same."""
    before = {t.id: t for t in current}
    after = {t.id: t for t in proposed}
    lines = [f"- added {t.id}. {_line(t.title)}" for t in proposed if t.id not in before]
    lines += [f"- removed {t.id}. {_line(t.title)}" for t in current if t.id not in after]
    for task in proposed:
        old = before.get(task.id)
        if old is None or old == task:
            continue
        fields = [
            name
            for name in (
                "title",
                "description",
                "status",
                "dependencies",
                "priority",
                "details",
                "testStrategy",
            )
            if getattr(old, name) != getattr(task, name)
        ]
        if old.subtasks != task.subtasks:
            fields.append("subtasks")
        if old.model_extra != task.model_extra or old.files != task.files:
            fields.append("other fields")
        lines.append(f"- changed {task.id}. {_line(task.title)}: {', '.join(fields)}")
    return lines


def render_import(
    *, title: str, goal_id: str, source: str, current: list[TaskRecord], proposed: list[TaskRecord]
) -> str:
    changes = task_changes(current, proposed)
    rows = "\n".join(
        f"| {t.id} | {_line(t.title)} | {t.status} | {t.priority} | {_deps(t)} |" for t in proposed
    )
    details = []
    for t in proposed:
        details += [f"### {t.id}. {_line(t.title)}", ""]
        if t.description.strip():
            details += [t.description.strip(), ""]
        details += [f"- **Status:** {t.status}", f"- **Depends on:** {_deps(t)}"]
        if t.testStrategy.strip():
            details.append(f"- **Test strategy:** {_line(t.testStrategy)}")
        details += [f"- subtask {t.id}.{s.id}: {_line(s.title)} ({s.status})" for s in t.subtasks]
        details.append("")
    return (
        "\n".join(
            [
                f"# Task list: {_line(title)}",
                "",
                f"Imported from the Task Master file `{_line(source)}` for goal {goal_id}; approve it like any",
                "task list. Nothing is written to tasks/index.json until it is approved.",
                "",
                "## Changes from the current task list",
                "",
                *(changes or ["- none"]),
                "",
                "## Tasks",
                "",
                "| ID | Title | Status | Priority | Depends on |",
                "| --- | --- | --- | --- | --- |",
                rows,
                "",
                "## Task details",
                "",
                *details,
            ]
        ).rstrip("\n")
        + "\n"
    )
