"""tasks/index.json: schema-checked on every write, atomic, deterministic; events deduplicated."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot.sop import index as idx
from bot.sop.phases import GoalState, Mode, Phase, PhaseStatus
from bot.sop.records import (
    ApprovalRecord,
    ArtifactRecord,
    Evidence,
    GoalRecord,
    IndexFile,
    SpecWaiver,
    Subtask,
    TaskRecord,
    to_json_dict,
)

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SHA = "a" * 64


def full_goal(goal_id: str = "G-0001") -> GoalRecord:
    """A goal with every field set, so the schema is tested against all of the model."""
    return GoalRecord(
        id=goal_id,
        title="Invoices — café",
        requester="U1",
        channel="C1",
        thread_ts="1700000000.000100",
        phase=Phase.ACTION_PLAN,
        status=PhaseStatus.AWAITING_APPROVAL,
        state=GoalState.ACTIVE,
        mode=Mode.READ_ONLY,
        spec_required=True,
        spec_triggers=["schema change"],
        spec_waiver=SpecWaiver(by="U2", at=T0, justification="tiny", decision="required"),
        created=T0,
        updated=T0,
        artifacts=[
            ArtifactRecord(
                phase="prd", path=f"tasks/{goal_id}/prd.md", version=2, sha256=SHA, approved_sha256=SHA,
                last_review=T0, reviewed_by=["U2"], mirror_path="docs/PRD.md",
            )
        ],
        approvals=[
            ApprovalRecord(
                phase="prd", decision="approve", by="U2", at=T0, artifact_version=2, artifact_sha256=SHA,
                reason="ok", slack_channel="C1", slack_ts="1700000000.000200",
            )
        ],
        tasks=[
            TaskRecord(
                id=1, title="Store", dependencies=[2, "2.1"], files=["app/store.py"], acceptance_criteria=["x"],
                evidence=Evidence(commits=["abc"], files_changed=["a"], test_result="ok", verified_at=T0),
                subtasks=[Subtask(id=1, title="Schema", dependencies=["1.2"])],
            )
        ],
    )  # fmt: skip


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(idx.schema_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("/2020-12/schema")


def test_the_schema_describes_every_field_of_the_records() -> None:
    # When records.py gains a field, this fails until the schema describes it too.
    defs = json.loads(idx.schema_text())["$defs"]
    pairs = {
        "goal": GoalRecord, "artifact": ArtifactRecord, "approval": ApprovalRecord, "spec_waiver": SpecWaiver,
        "task": TaskRecord, "subtask": Subtask, "evidence": Evidence,
    }  # fmt: skip
    for name, model in pairs.items():
        assert set(defs[name]["properties"]) == set(model.model_fields), name


def test_the_schema_enums_match_the_phase_machine() -> None:
    defs = json.loads(idx.schema_text())["$defs"]
    assert defs["phase"]["enum"] == [p.value for p in Phase]
    assert defs["phase_status"]["enum"] == [s.value for s in PhaseStatus]
    assert defs["goal"]["properties"]["state"]["enum"] == [s.value for s in GoalState]
    assert defs["goal"]["properties"]["mode"]["enum"] == [m.value for m in Mode]


def test_a_full_index_is_saved_and_loaded_back_unchanged(tmp_path: Path) -> None:
    index = IndexFile(goals=[full_goal()])
    assert idx.save_index(tmp_path, index) is True
    text = (tmp_path / idx.INDEX_PATH).read_text(encoding="utf-8")
    assert text.endswith("}\n") and "café" in text
    assert idx.load_index(tmp_path) == index


def test_saving_the_same_state_twice_writes_identical_bytes_and_reports_no_change(tmp_path: Path) -> None:
    idx.save_index(tmp_path, IndexFile(goals=[full_goal("G-0002"), full_goal("G-0001")]))
    first = (tmp_path / idx.INDEX_PATH).read_bytes()
    assert idx.save_index(tmp_path, idx.load_index(tmp_path)) is False
    assert (tmp_path / idx.INDEX_PATH).read_bytes() == first


def test_keys_follow_the_model_order(tmp_path: Path) -> None:
    idx.save_index(tmp_path, IndexFile(goals=[full_goal()]))
    data = json.loads((tmp_path / idx.INDEX_PATH).read_text(encoding="utf-8"))
    assert list(data) == ["schema_version", "goals"]
    assert list(data["goals"][0])[:3] == ["id", "title", "requester"]


@pytest.mark.parametrize(
    "change",
    [
        {"id": "G-1"},
        {"phase": "coding"},
        {"status": "unknown"},
        {"artifacts": [ArtifactRecord(phase="prd", path="../../etc/passwd", version=1, sha256=SHA)]},
        {"artifacts": [ArtifactRecord(phase="prd", path="tasks/G-0001/prd.md", version=1, sha256="xyz")]},
    ],
)
def test_an_invalid_index_is_refused_and_the_old_file_is_kept(tmp_path: Path, change: dict[str, Any]) -> None:
    idx.save_index(tmp_path, IndexFile(goals=[full_goal()]))
    before = (tmp_path / idx.INDEX_PATH).read_bytes()
    bad = IndexFile.model_construct(goals=[full_goal().model_copy(update=change)])
    with pytest.raises(idx.IndexFileError, match="does not match its schema"):
        idx.save_index(tmp_path, bad)
    assert (tmp_path / idx.INDEX_PATH).read_bytes() == before
    assert [p.name for p in (tmp_path / "tasks").iterdir()] == ["index.json"]  # no temp file left


def _whole_document_errors(data: Any) -> list[str]:
    schema = json.loads(idx.schema_text())
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d["goals"][1].update(id="G-1", phase="coding"),
        lambda d: d.update(extra=True),
        lambda d: d.update(goals="none"),
        lambda d: d.update(schema_version=2),
        lambda d: d["goals"].append({"id": "G-0009"}),
        lambda d: d["goals"][0]["tasks"][0]["subtasks"][0].update(id="one"),
        lambda d: d["goals"][2]["artifacts"][0].update(sha256="xyz"),
    ],
)
def test_the_index_is_checked_entry_by_entry_with_the_same_findings_as_whole(corrupt: Any) -> None:
    # Entries seen valid are not checked again: the findings must still be exactly the
    # whole document's, for a changed entry as for one never seen.
    data = to_json_dict(IndexFile(goals=[full_goal(f"G-000{i}") for i in (1, 2, 3)]))
    assert idx.schema_errors(data) == _whole_document_errors(data) == []
    corrupt(data)
    found = idx.schema_errors(data)
    assert found and found == _whole_document_errors(data)
    assert idx.schema_errors(data) == found  # and again, from what it remembered


def test_a_hand_broken_index_is_reported_not_loaded(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / idx.INDEX_PATH).write_text('{"schema_version": 1, "goals": [{"id": "x"}]}', encoding="utf-8")
    with pytest.raises(idx.IndexFileError, match="goals/0"):
        idx.load_index(tmp_path)
    (tmp_path / idx.INDEX_PATH).write_text("{not json", encoding="utf-8")
    with pytest.raises(idx.IndexFileError, match="not valid JSON"):
        idx.load_index(tmp_path)


def test_a_missing_index_loads_as_empty(tmp_path: Path) -> None:
    assert idx.load_index(tmp_path) == IndexFile()


def test_the_schema_copy_in_the_repo_is_the_packaged_schema(tmp_path: Path) -> None:
    assert idx.write_schema(tmp_path) is True
    assert idx.write_schema(tmp_path) is False
    assert (tmp_path / idx.SCHEMA_PATH).read_text(encoding="utf-8") == idx.schema_text()


def test_events_are_appended_once_each_by_id(tmp_path: Path) -> None:
    events = [{"id": "audit-1", "at": T0, "action": "start"}, {"id": "audit-2", "action": "draft"}]
    assert idx.append_events(tmp_path, events) == 2
    assert idx.append_events(tmp_path, [*events, {"id": "audit-3", "action": "approve"}]) == 1
    lines = (tmp_path / idx.EVENTS_PATH).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["audit-1", "audit-2", "audit-3"]
    assert json.loads(lines[0])["at"] == T0.isoformat()


def test_events_never_rewrite_what_is_already_in_the_file(tmp_path: Path) -> None:
    idx.append_events(tmp_path, [{"id": "e1"}])
    before = (tmp_path / idx.EVENTS_PATH).read_bytes()
    idx.append_events(tmp_path, [{"id": "e2"}])
    assert (tmp_path / idx.EVENTS_PATH).read_bytes().startswith(before)


def test_a_line_torn_by_a_crash_is_ended_and_its_event_written_again_whole(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / idx.EVENTS_PATH).write_text('{"id": "e1"}\n{"id": "e2", "act', encoding="utf-8")
    assert idx.append_events(tmp_path, [{"id": "e1"}, {"id": "e2"}]) == 1
    lines = (tmp_path / idx.EVENTS_PATH).read_text(encoding="utf-8").splitlines()
    assert lines[1] == '{"id": "e2", "act'
    assert json.loads(lines[2]) == {"id": "e2"}


def test_an_event_without_an_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="id"):
        idx.append_events(tmp_path, [{"action": "x"}])
    assert not (tmp_path / idx.EVENTS_PATH).exists()


def test_the_ids_are_those_in_the_file_now_whoever_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / idx.EVENTS_PATH
    idx.append_events(tmp_path, [{"id": "e1"}, {"id": "e2"}])
    assert idx.event_ids(tmp_path) == {"e1", "e2"}  # read once, then only what is appended
    with path.open("a", encoding="utf-8") as fh:  # another process appends
        fh.write('{"id": "e3"}\n')
    assert idx.event_ids(tmp_path) == {"e1", "e2", "e3"}
    replaced = tmp_path / "other.jsonl"  # a checkout puts another file in its place
    replaced.write_text('{"id": "x1"}\n{"id": "x2"}\n{"id": "x3"}\n', encoding="utf-8")
    replaced.replace(path)
    assert idx.event_ids(tmp_path) == {"x1", "x2", "x3"}
    with path.open("r+", encoding="utf-8") as fh:  # a person edits it in place, same length
        fh.write('{"id": "y1"}\n{"id": "y2"}\n{"id": "y3"}\n')
    assert idx.event_ids(tmp_path) == {"y1", "y2", "y3"}
    path.unlink()
    assert idx.event_ids(tmp_path) == set()
    assert idx.append_events(tmp_path, [{"id": "y1"}]) == 1
