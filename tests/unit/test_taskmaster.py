"""Task Master tasks.json import/export is lossless, down to the bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.sop.records import Evidence, IndexFile, TaskRecord
from bot.sop.taskmaster import (
    KEY_ORDER_FIELD,
    TaskmasterFormatError,
    export_taskmaster,
    import_taskmaster,
    read_taskmaster,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "taskmaster"


def load(name: str) -> tuple[str, dict]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text, json.loads(text)


def as_taskmaster_text(data: dict) -> str:
    # Task Master writes JSON.stringify(data, null, 2); the fixture adds a final newline.
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_the_tagged_fixture_round_trips_to_identical_bytes() -> None:
    text, data = load("tasks.json")
    doc = read_taskmaster(data)
    out = export_taskmaster(doc.tasks, doc.tag or "master", doc.metadata, into=data)
    assert out == data
    assert as_taskmaster_text(out) == text


def test_a_round_trip_through_the_index_file_keeps_the_bytes() -> None:
    from bot.sop.index import dump_index, parse_index
    from bot.sop.records import GoalRecord

    text, data = load("tasks.json")
    doc = read_taskmaster(data, "master")
    goal = GoalRecord(
        id="G-0001", title="Invoices", requester="U1", phase="implementation", status="drafting",
        created="2025-03-01T00:00:00Z", updated="2025-03-01T00:00:00Z", tasks=doc.tasks,
    )  # fmt: skip
    stored = parse_index(dump_index(IndexFile(goals=[goal])))
    out = export_taskmaster(stored.goals[0].tasks, "master", doc.metadata, into=data)
    assert as_taskmaster_text(out) == text


def test_the_legacy_fixture_round_trips_with_its_other_keys() -> None:
    text, data = load("legacy.json")
    doc = read_taskmaster(data)
    assert doc.tag is None and [t.id for t in doc.tasks] == [1, 2]
    out = export_taskmaster(doc.tasks, legacy=True, into=data)
    assert as_taskmaster_text(out) == text


def test_dependencies_keep_their_types_and_unknown_keys_survive() -> None:
    _, data = load("tasks.json")
    tasks = import_taskmaster(data)
    by_id = {t.id: t for t in tasks}
    assert by_id[3].dependencies == ["2.2", 2]
    assert by_id[2].subtasks[2].dependencies == ["2.1", 2]
    assert by_id[1].model_extra["previousStatus"] == "in-progress"
    assert by_id[3].model_extra["metadata"]["estimate"] == 3.5
    assert by_id[2].subtasks[0].model_extra["acceptanceCriteria"].startswith("- migration")


def test_key_order_is_remembered_only_where_it_differs_from_ours() -> None:
    _, data = load("tasks.json")
    by_id = {t.id: t for t in import_taskmaster(data)}
    assert KEY_ORDER_FIELD not in by_id[1].model_extra  # Task Master's usual order
    assert by_id[4].model_extra[KEY_ORDER_FIELD][:2] == ["title", "id"]  # hand-edited order
    assert KEY_ORDER_FIELD in by_id[2].subtasks[1].model_extra  # status after details


def test_an_empty_subtasks_list_is_kept_and_a_missing_one_is_not_invented() -> None:
    _, data = load("tasks.json")
    out = export_taskmaster(import_taskmaster(data), metadata=None)["master"]["tasks"]
    assert out[2]["subtasks"] == []
    assert "subtasks" not in out[0]
    assert "metadata" not in export_taskmaster([], metadata=None)["master"]


def test_evidence_added_after_import_is_exported_after_the_original_keys() -> None:
    _, data = load("tasks.json")
    tasks = import_taskmaster(data)
    tasks[3].evidence = Evidence(commits=["abc1234"])
    task = export_taskmaster(tasks)["master"]["tasks"][3]
    assert list(task)[-1] == "evidence"
    assert list(task)[:2] == ["title", "id"]
    assert task["evidence"]["commits"] == ["abc1234"]


def test_tasks_made_by_the_bot_export_in_task_master_order_without_our_empty_fields() -> None:
    task = TaskRecord(id=7, title="Write docs", files=[])
    out = export_taskmaster([task], "docs")["docs"]["tasks"][0]
    assert list(out) == [
        "id", "title", "description", "status", "dependencies", "priority", "details", "testStrategy",
    ]  # fmt: skip


def test_a_named_tag_is_imported_and_the_other_tags_are_kept_on_export() -> None:
    _, data = load("tasks.json")
    doc = read_taskmaster(data, "feature-exports")
    assert doc.tag == "feature-exports" and [t.title for t in doc.tasks] == ["Export invoices as CSV"]
    doc.tasks[0].status = "done"
    out = export_taskmaster(doc.tasks, "feature-exports", doc.metadata, into=data)
    assert list(out) == ["master", "feature-exports"]
    assert out["master"] == data["master"]
    assert out["feature-exports"]["tasks"][0]["status"] == "done"


@pytest.mark.parametrize(
    ("data", "tag", "message"),
    [
        ([], None, "JSON object"),
        ({"a": {"tasks": []}, "b": {"tasks": []}}, None, "name the tag"),
        ({"master": {"tasks": []}}, "nope", "no tag 'nope'"),
        ({"tasks": []}, "feature", "legacy"),
        ({"tasks": [{"id": 1}]}, None, "title"),
        ({"tasks": [{"id": 1, "title": "x", "status": "todo"}]}, None, "status"),
        ({"tasks": [{"id": 1, "title": "x"}, {"id": 1, "title": "y"}]}, None, "twice"),
        ({"tasks": ["x"]}, None, "not an object"),
        ({"tasks": [{"id": 1, "title": "x", "subtasks": {}}]}, None, "subtasks"),
    ],
)
def test_malformed_files_are_refused_with_a_clear_message(
    data: object, tag: str | None, message: str
) -> None:
    with pytest.raises(TaskmasterFormatError, match=message):
        import_taskmaster(data, tag)


def test_the_legacy_and_tagged_formats_are_not_mixed_up_on_export() -> None:
    with pytest.raises(TaskmasterFormatError):
        export_taskmaster([], "master", into={"tasks": []})
    with pytest.raises(TaskmasterFormatError):
        export_taskmaster([], legacy=True, into={"master": {"tasks": []}})
