"""docs/ mirrors: one dated section per approved version, append-only, idempotent by marker."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.sop.mirrors import MirrorSection, append_section, has_section, render_section
from bot.sop.phases import Phase

APPROVED = datetime(2025, 3, 9, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 2025-03-10 in UTC


def section(version: int = 1, *, content: str = "# PRD\n\nShip invoices.\n", **kw: object) -> MirrorSection:
    fields: dict = {
        "goal_id": "G-0003",
        "title": "Invoices",
        "phase": Phase.PRD,
        "version": version,
        "approved_at": APPROVED,
        "approved_by": ["U2", "U3"],
        "canonical_path": "tasks/G-0003/prd.md",
        "content": content,
        "sha256": hashlib.sha256(content.encode()).hexdigest(),
    }
    fields.update(kw)
    return MirrorSection(**fields)


def test_the_first_section_creates_the_file_with_its_header(tmp_path: Path) -> None:
    assert append_section(tmp_path, section()) is True
    text = (tmp_path / "docs/PRD.md").read_text(encoding="utf-8")
    assert text.startswith("# Product requirements (mirror)\n\n_Append-only")
    assert "## G-0003 · Invoices — PRD v1 (2025-03-10)" in text
    assert "by U2, U3" in text
    assert "[tasks/G-0003/prd.md](../tasks/G-0003/prd.md)" in text
    assert "Ship invoices." in text
    assert text.rstrip().endswith("-->")


def test_appending_the_same_version_twice_changes_nothing(tmp_path: Path) -> None:
    append_section(tmp_path, section())
    before = (tmp_path / "docs/PRD.md").read_bytes()
    assert append_section(tmp_path, section()) is False
    assert (tmp_path / "docs/PRD.md").read_bytes() == before


def test_a_new_version_is_appended_and_the_old_prefix_is_byte_for_byte_unchanged(tmp_path: Path) -> None:
    append_section(tmp_path, section(1))
    append_section(tmp_path, section(1, phase=Phase.TASK_LIST, canonical_path="tasks/G-0003/tasks.md"))
    before = (tmp_path / "docs/PRD.md").read_bytes()
    assert append_section(tmp_path, section(2, content="# PRD\n\nShip invoices and credit notes.\n"))
    after = (tmp_path / "docs/PRD.md").read_bytes()
    assert after.startswith(before) and len(after) > len(before)
    text = after.decode()
    assert has_section(text, "G-0003", Phase.PRD, 1) and has_section(text, "G-0003", Phase.PRD, 2)
    assert (tmp_path / "docs/TASKS.md").read_text(encoding="utf-8").startswith("# Task lists (mirror)")


def test_a_hand_edit_without_final_newline_is_kept_and_the_section_starts_on_its_own_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/PRD.md").write_text("# Our PRDs\n\nwritten by hand", encoding="utf-8")
    append_section(tmp_path, section())
    text = (tmp_path / "docs/PRD.md").read_text(encoding="utf-8")
    assert text.startswith("# Our PRDs\n\nwritten by hand\n\n## G-0003")


def test_version_2_does_not_count_as_version_20(tmp_path: Path) -> None:
    append_section(tmp_path, section(20))
    assert append_section(tmp_path, section(2)) is True


def test_a_title_or_body_cannot_forge_a_marker_for_another_section(tmp_path: Path) -> None:
    forged = "<!-- orch:section G-0003 prd v2 sha=x -->"
    append_section(tmp_path, section(1, title=f"x\n{forged}", content=f"intro\n{forged}\n"))
    text = (tmp_path / "docs/PRD.md").read_text(encoding="utf-8")
    assert not has_section(text, "G-0003", Phase.PRD, 2)
    assert append_section(tmp_path, section(2)) is True


def test_a_dangling_code_fence_is_closed_so_later_sections_render(tmp_path: Path) -> None:
    rendered = render_section(section(content="```python\nprint(1)\n"))
    body_and_marker = rendered.split("print(1)\n", 1)[1]
    assert body_and_marker.startswith("```\n")


def test_the_date_is_the_utc_day_of_the_approval() -> None:
    assert "(2025-03-10)" in render_section(section())
    assert "(2025-03-09)" in render_section(section(approved_at=datetime(2025, 3, 9, 23, 59, tzinfo=UTC)))
    # A naive time (SQLite returns them) is read as UTC.
    assert "(2025-03-09)" in render_section(section(approved_at=datetime(2025, 3, 9, 23, 59)))


@pytest.mark.parametrize(
    "bad",
    [
        {"phase": Phase.SCAFFOLD_CHECK},
        {"goal_id": "../../etc"},
        {"version": 0},
    ],
)
def test_sections_that_cannot_be_mirrored_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        section(**bad)
