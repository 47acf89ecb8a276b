"""This repository keeps its own PRD and task list with its own tools, and they must stay consistent.

CI runs `orch spec-guard --repo .` (with the real clock, so a review older than 30 days asks for a
re-review). This test checks the same rules at the time of the last review, so that it fails only
when the files and the index disagree, never because time passed.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.sop.index import INDEX_PATH, load_index, schema_errors
from bot.sop.mirrors import has_section
from bot.sop.phases import Phase
from bot.sop.spec_guard import check_report
from bot.sop.taskmaster import export_taskmaster, read_taskmaster

ROOT = Path(__file__).resolve().parents[2]


def test_the_projects_own_tasks_pass_the_spec_guard_and_the_schema() -> None:
    assert schema_errors(json.loads((ROOT / INDEX_PATH).read_text(encoding="utf-8"))) == []
    index = load_index(ROOT)
    goal = index.goal("G-0001")
    assert goal is not None and goal.state == "active"
    approved = {a.phase: a for a in goal.artifacts if a.approved_sha256}
    assert {"prd", "task_list"} <= set(approved)
    reviewed = max(a.last_review for a in goal.artifacts if a.last_review is not None)
    report = check_report(ROOT, now=reviewed)
    assert report.problems == [] and report.artifacts_checked >= 3

    for phase, mirror in ((Phase.PRD, "docs/PRD.md"), (Phase.TASK_LIST, "docs/TASKS.md")):
        text = (ROOT / mirror).read_text(encoding="utf-8")
        assert has_section(text, "G-0001", phase, approved[phase.value].version), mirror
        assert f"sha256 `{approved[phase.value].sha256[:12]}`" in text


def test_the_projects_task_list_round_trips_through_task_master() -> None:
    goal = load_index(ROOT).goal("G-0001")
    assert goal is not None and len(goal.tasks) >= 5
    assert all(
        str(d).split(".")[0] in {str(t.id) for t in goal.tasks} for t in goal.tasks for d in t.dependencies
    )
    data = export_taskmaster(goal.tasks, "master", None)
    assert read_taskmaster(data, "master").tasks == goal.tasks
