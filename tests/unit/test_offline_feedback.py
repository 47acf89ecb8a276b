"""The offline drafter applies what a template can of "Request changes" and says what it cannot."""

from __future__ import annotations

from bot.agents.offline import APPLIED_NOTE, NOT_APPLIED_NOTE
from bot.sop.phases import Phase
from bot.sop.records import TaskRecord
from tests.unit.test_drafting_offline import draft, request

FOUR = [
    TaskRecord(id=1, title="Model", files=["src/model.py"], acceptance_criteria=["a", "b"]),
    TaskRecord(
        id=2, title="Export", dependencies=[1], files=["src/export.py"], acceptance_criteria=["c", "d"]
    ),
    TaskRecord(id=3, title="Button", dependencies=[2], files=["src/button.py"], acceptance_criteria=["e"]),
    TaskRecord(id=4, title="Docs", dependencies=[2, 3], files=["docs/export.md"], acceptance_criteria=["f"]),
]


def revise(feedback: str, tasks: list[TaskRecord] = FOUR):  # type: ignore[no-untyped-def]
    first = draft(request(Phase.TASK_LIST, tasks=tasks))
    return draft(request(Phase.TASK_LIST, previous=first.markdown, feedback=feedback, tasks=tasks))


def test_split_remove_rename_and_a_criterion_use_the_numbers_the_reviewer_saw() -> None:
    result = revise(
        "- split task 2 into Write the CSV and Stream large exports\n"
        "- remove task 3; rename task 1 to Invoice model\n"
        "- add an acceptance criterion to task 4: the docs show a sample file"
    )
    shape = [(t.id, t.title, t.dependencies, t.acceptance_criteria) for t in result.tasks or []]
    assert shape == [
        (1, "Invoice model", [], ["a", "b"]),
        (2, "Write the CSV", [1], ["c"]),
        (3, "Stream large exports", [1, 2], ["d"]),
        (4, "Docs", [3], ["f", "the docs show a sample file"]),  # its task 2 is now task 3; task 3 went
    ]
    md = result.markdown
    assert APPLIED_NOTE in md and NOT_APPLIED_NOTE not in md
    assert "| 3 | Stream large exports | medium | 1, 2 |" in md
    assert "### 4. Docs" in md and "- [ ] the docs show a sample file" in md
    assert "### 2. Export" not in md  # the task details follow the records
    assert "> - split task 2 into Write the CSV and Stream large exports" in md  # the feedback, recorded
    assert result.summary.startswith("Offline revision 2 of the Task List: applied 4 requested change(s)")


def test_what_a_template_cannot_apply_is_said_plainly_and_the_rest_is_kept() -> None:
    result = revise("make it faster\nsplit task 9\nadd an acceptance criterion: works offline")
    assert result.tasks == FOUR
    md = result.markdown
    assert NOT_APPLIED_NOTE in md and APPLIED_NOTE not in md
    assert "- “make it faster”" in md
    assert "- “split task 9”: the previous version has no task 9" in md
    assert "- “add an acceptance criterion: works offline”: which task?" in md
    assert "could apply none of it" in result.summary


def test_a_prd_takes_a_new_acceptance_criterion_and_a_rename_but_quotes_stay_as_said() -> None:
    first = draft(request(Phase.PRD))
    feedback = 'add an acceptance criterion: exports finish in 5 s\nrename "digest" to "summary"\nbe concise'
    second = draft(request(Phase.PRD, previous=first.markdown, feedback=feedback))
    criteria = second.markdown.split("## Acceptance criteria", 1)[1].split("\n## ", 1)[0]
    assert criteria.rstrip().endswith("- [ ] exports finish in 5 s")
    assert "- Add a daily summary to the channel and encrypt the export" in second.markdown
    assert "> - Add a daily digest to the channel and encrypt the export" in second.markdown  # the brief
    assert "- “be concise”" in second.markdown
    assert "applied 2 requested change(s); 1 not applied" in second.summary
