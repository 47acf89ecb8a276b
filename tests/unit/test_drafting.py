"""Phase templates, the draft types' Markdown and the task graph rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.agents.drafting import (
    NONE,
    OUTPUT_TYPES,
    ActionPlanDraft,
    PlannedTask,
    PrdDraft,
    Requirement,
    Section,
    SpecDraft,
    TaskListDraft,
    TaskPlan,
    output_type,
    task_graph_problems,
)
from bot.agents.templates import (
    NOT_COVERED,
    builtin_template,
    fill_template,
    heading_key,
    load_template,
    section_headings,
)
from bot.sop.phases import Phase
from bot.sop.records import TaskRecord

DRAFTED = [Phase.PRD, Phase.TASK_LIST, Phase.SPEC, Phase.ACTION_PLAN]


def _task(tid: int, deps: list[int], files: list[str] | None = None) -> PlannedTask:
    return PlannedTask(
        id=tid,
        title=f"Task {tid}",
        description="Do it.",
        priority="medium",
        dependencies=deps,
        files=files if files is not None else [f"src/t{tid}.py"],
        acceptance_criteria=["It works."],
        test_strategy="pytest",
    )


def sample(phase: Phase):
    common = {"title": "Status command", "summary": "A summary."}
    if phase is Phase.PRD:
        return PrdDraft(
            **common,
            problem="Nobody sees goal status.",
            goals=["List goals"],
            non_goals=["Dashboards"],
            user_stories=["As a lead, I want a list, so that I can chase approvals."],
            requirements=[
                Requirement(
                    id="R1", when="WHEN a user types /orch status", shall="THE SYSTEM SHALL list goals."
                )
            ],
            acceptance_criteria=["The list shows phases."],
            risks=[],
            open_questions=["Include done goals?"],
        )
    if phase is Phase.TASK_LIST:
        return TaskListDraft(
            **common, overview="Two steps.", tasks=[_task(1, []), _task(2, [1])], open_questions=[]
        )
    if phase is Phase.SPEC:
        return SpecDraft(
            **common,
            context="c",
            triggers=["security: tokens"],
            design="d",
            data_and_migrations="none",
            security="s",
            rollout_and_rollback="r",
            test_plan=["unit"],
        )
    return ActionPlanDraft(
        **common,
        overview="o",
        worktree="one worktree",
        task_plans=[
            TaskPlan(
                task_id=1,
                title="T",
                branch="orch/g/task-1",
                steps=["a", "b"],
                files=["src/a.py"],
                test_command="python -m pytest -q",
            )
        ],
        test_commands=["python -m pytest -q"],
        review_checklist=["tests pass"],
        rollback="revert",
    )


@pytest.mark.parametrize("phase", DRAFTED)
def test_every_section_of_the_builtin_template_is_filled(phase: Phase) -> None:
    markdown = sample(phase).to_markdown(goal_id="G-0001")
    headings = section_headings(builtin_template(phase))
    assert len(headings) >= 4
    for heading in headings:
        assert f"\n## {heading}\n" in markdown
    assert NOT_COVERED not in markdown
    assert "<!--" not in markdown and "{title}" not in markdown
    assert markdown.startswith("# ") and "Status command" in markdown.splitlines()[0]


def test_prd_requirements_are_ears_even_when_the_model_repeats_the_keywords() -> None:
    markdown = sample(Phase.PRD).to_markdown()
    assert "- **R1** WHEN a user types /orch status, THE SYSTEM SHALL list goals." in markdown
    assert "- [ ] The list shows phases." in markdown


def test_empty_lists_render_as_none_not_as_an_empty_section() -> None:
    markdown = sample(Phase.PRD).to_markdown()
    risks = markdown.split("## Risks\n\n", 1)[1].split("\n", 1)[0]
    assert risks == NONE


def test_task_list_markdown_has_a_table_and_details_per_task() -> None:
    markdown = sample(Phase.TASK_LIST).to_markdown()
    assert "| ID | Title | Priority | Depends on | Files |" in markdown
    assert "| 2 | Task 2 | medium | 1 | src/t2.py |" in markdown
    assert "### 1. Task 1" in markdown and "### 2. Task 2" in markdown
    assert "- **Depends on:** 1" in markdown


def test_table_cells_cannot_break_the_table() -> None:
    draft = TaskListDraft(
        title="t",
        summary="s",
        overview="o",
        open_questions=[],
        tasks=[_task(1, []).model_copy(update={"title": "a | b\n## injected"})],
    )
    row = next(line for line in draft.to_markdown().splitlines() if line.startswith("| 1 |"))
    assert row == "| 1 | a \\| b ## injected | medium | — | src/t1.py |"


def test_a_repository_template_decides_headings_and_order(tmp_path: Path) -> None:
    custom = "# Our PRD for {title} ({goal_id})\n\nIntro stays.\n\n## Open questions\n<!-- x -->\n\n## Why now\n\n## Goals\n"
    markdown = sample(Phase.PRD).to_markdown(custom, goal_id="G-9")
    lines = markdown.splitlines()
    assert lines[0] == "# Our PRD for Status command (G-9)"
    assert "Intro stays." in lines
    order = [line for line in lines if line.startswith("## ")]
    # Template headings first, in its order; the draft's other sections follow instead of vanishing.
    assert order[:3] == ["## Open questions", "## Why now", "## Goals"]
    assert "## Problem" in order[3:] and "## Requirements" in order[3:]
    assert markdown.split("## Why now\n\n", 1)[1].startswith(NOT_COVERED)


def test_extra_sections_fill_custom_template_headings() -> None:
    draft = sample(Phase.SPEC).model_copy(
        update={"extra_sections": [Section(heading="Why now", body="Because.")]}
    )
    markdown = draft.to_markdown("# Spec {title}\n\n## Why now\n\n## Design\n")
    assert "## Why now\n\nBecause." in markdown
    assert markdown.count("## Why now") == 1


def test_heading_keys_are_forgiving_about_and_ampersand_slash_and_plurals() -> None:
    assert heading_key("Users & stories") == heading_key("User and story")
    assert heading_key("Data/migrations") == heading_key("Data and migrations")
    assert heading_key("Worktree and branches") == heading_key("Worktree & branch")
    assert heading_key("Goals") != heading_key("Non-goals")


def test_a_title_cannot_smuggle_placeholders_or_lines() -> None:
    out = fill_template("# PRD: {title} / {goal_id}\n", title="{goal_id}\n# x", goal_id="G-1", sections=[])
    assert out == "# PRD: {goal_id} # x / G-1\n"


def test_load_template_prefers_patterns_then_tasks_then_builtin(tmp_path: Path) -> None:
    assert load_template(Phase.PRD, tmp_path) == builtin_template(Phase.PRD)
    (tmp_path / "tasks/templates").mkdir(parents=True)
    (tmp_path / "tasks/templates/prd.md").write_text("# tasks-dir {title}\n", encoding="utf-8")
    assert load_template(Phase.PRD, tmp_path).startswith("# tasks-dir")
    (tmp_path / "patterns/templates").mkdir(parents=True)
    (tmp_path / "patterns/templates/prd.md").write_text("# patterns-dir {title}\n", encoding="utf-8")
    assert load_template(Phase.PRD, tmp_path).startswith("# patterns-dir")
    assert load_template(Phase.ACTION_PLAN, tmp_path) == builtin_template(Phase.ACTION_PLAN)


def test_a_template_symlink_out_of_the_repository_is_ignored(tmp_path: Path) -> None:
    secret = tmp_path / "outside.md"
    secret.write_text("# secret\n", encoding="utf-8")
    repo = tmp_path / "repo"
    (repo / "patterns/templates").mkdir(parents=True)
    (repo / "patterns/templates/spec.md").symlink_to(secret)
    assert load_template(Phase.SPEC, repo) == builtin_template(Phase.SPEC)


def test_undrafted_phases_have_no_template_or_output_type() -> None:
    with pytest.raises(ValueError):
        load_template(Phase.IMPLEMENTATION)
    with pytest.raises(ValueError):
        output_type(Phase.DONE)
    assert set(OUTPUT_TYPES) == set(DRAFTED)


@pytest.mark.parametrize(
    "bad", ["../../x", "/etc/passwd", "-rf", "src/-rf.py", "a;b", "a b.py", ".git/hooks/x", ""]
)
def test_planned_task_refuses_unsafe_file_paths(bad: str) -> None:
    with pytest.raises(ValidationError):
        _task(1, [], files=[bad])


def test_planned_task_normalises_safe_paths_and_converts_to_a_task_record() -> None:
    record = _task(3, [], files=["./src//a.py"]).to_record()
    assert isinstance(record, TaskRecord)
    assert record.files == ["src/a.py"] and record.testStrategy == "pytest" and record.status == "pending"


@pytest.mark.parametrize(
    ("tasks", "problem"),
    [
        ([_task(1, []), _task(1, [])], "not unique"),
        ([_task(1, [7])], "unknown task 7"),
        ([_task(1, [1])], "depends on itself"),
        ([_task(1, [3]), _task(2, [1]), _task(3, [2])], "cycle"),
    ],
)
def test_task_list_refuses_broken_dependency_graphs(tasks: list[PlannedTask], problem: str) -> None:
    assert any(problem in p for p in task_graph_problems(tasks))
    with pytest.raises(ValidationError, match=problem):
        TaskListDraft(title="t", summary="s", overview="o", tasks=tasks, open_questions=[])


def test_a_sound_graph_has_no_problems_and_works_on_task_records_too() -> None:
    assert task_graph_problems([_task(1, []), _task(2, [1]), _task(3, [1, 2])]) == []
    records = [TaskRecord(id=1, title="a"), TaskRecord(id=2, title="b", dependencies=["1"])]
    assert task_graph_problems(records) == []


def test_output_types_are_strict_json_schema_objects() -> None:
    # Strict structured output needs closed objects everywhere; extra="allow" would break it.
    for kind in OUTPUT_TYPES.values():
        schema = kind.model_json_schema()
        assert schema["additionalProperties"] is False
        for definition in schema.get("$defs", {}).values():
            assert definition.get("additionalProperties") is False


def test_importing_the_drafting_package_does_not_import_the_agents_sdk() -> None:
    code = (
        "import sys, bot.agents, bot.agents.drafting, bot.agents.offline, bot.agents.sdk, "
        "bot.agents.offline_builder; print('agents' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
