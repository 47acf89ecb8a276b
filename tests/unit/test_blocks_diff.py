"""Diff messages: what changed, the diff within limits, and no way to approve a leaked secret."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks import ButtonRef, DiffView, build_diff_message, decode_button_value
from bot.blocks.limits import MESSAGE_TEXT_BUDGET, check_message, payload_chars
from bot.sop.phases import Phase

SHA = "9e" * 32
DIFF_TEXT = (
    "diff --git a/app/export.py b/app/export.py\n"
    "+def export(rows):\n"
    "+    return '<!channel>' & rows\n"
    "diff --git a/tests/test_export.py b/tests/test_export.py\n"
    "+def test_export(): ...\n"
)
DIFF = DiffView(
    goal_id="G-0003",
    task_id=4,
    task_title="Export rows as CSV",
    version=1,
    sha256=SHA,
    files=[("app/export.py", 2, 0), ("tests/test_export.py", 1, 0)],
    diff_text=DIFF_TEXT,
    tests_summary="12 passed in 0.4s",
)


def _actions(blocks: list[dict]) -> dict:
    return next(b for b in blocks if b["type"] == "actions")


def test_the_summary_lists_the_task_files_and_tests():
    blocks, upload = build_diff_message(DIFF)
    check_message(blocks)
    assert upload == DIFF_TEXT
    summary = next(b for b in blocks if b.get("block_id") == "diff_summary")["text"]["text"]
    assert summary == (
        "*Task 4: Export rows as CSV*\n• `app/export.py` +2 −0\n• `tests/test_export.py` +1 −0\n🧪 Tests: 12 passed in 0.4s"
    )


def test_each_file_gets_its_own_escaped_code_block():
    blocks, _ = build_diff_message(DIFF)
    code = [b["text"]["text"] for b in blocks if b.get("block_id", "").startswith("diff_file_")]
    assert len(code) == 2
    assert code[0].startswith("```\ndiff --git a/app/export.py")
    assert "'&lt;!channel&gt;' &amp; rows" in code[0]
    assert all(c.endswith("\n```") for c in code)


def test_the_buttons_name_the_task_and_the_implementation_phase():
    blocks, _ = build_diff_message(DIFF)
    elements = _actions(blocks)["elements"]
    assert [e["action_id"] for e in elements] == ["orch_approve", "orch_request_changes", "orch_reject"]
    assert {decode_button_value(e["value"]) for e in elements} == {
        ButtonRef("G-0003", Phase.IMPLEMENTATION, 1, SHA, 4)
    }


def test_a_diff_with_a_secret_is_neither_shown_nor_uploaded_nor_approvable():
    view = replace(
        DIFF, secret_findings=["app/settings.py:12 AWS access key"], diff_text=DIFF_TEXT + "+KEY=AKIA...\n"
    )
    blocks, upload = build_diff_message(view)
    check_message(blocks)
    assert upload is None
    assert "AKIA" not in str(blocks)
    assert "diff --git" not in str(blocks)
    assert [e["action_id"] for e in _actions(blocks)["elements"]] == ["orch_request_changes", "orch_reject"]
    warning = next(b for b in blocks if b.get("block_id") == "diff_secret")["text"]["text"]
    assert "🔐 This diff adds what looks like a secret — it cannot be approved" in warning
    assert "`app/settings.py:12 AWS access key`" in warning


def test_backticks_in_the_diff_cannot_close_our_code_block():
    view = replace(DIFF, diff_text="diff --git a/x.md b/x.md\n+```\n+<!here>\n+````\n")
    blocks, _ = build_diff_message(view)
    (code,) = [b["text"]["text"] for b in blocks if b.get("block_id", "").startswith("diff_file_")]
    assert code.count("```") == 2  # only our own fences


def test_a_huge_diff_is_cut_per_file_with_notes_and_stays_within_limits():
    files = [f"diff --git a/f{i}.py b/f{i}.py\n" + "+x = '<y>' & z\n" * 500 for i in range(120)]
    view = replace(DIFF, diff_text="".join(files), files=[(f"f{i}.py", 500, 0) for i in range(120)])
    blocks, upload = build_diff_message(view)
    check_message(blocks)
    assert upload == "".join(files)
    texts = [b["text"]["text"] for b in blocks if b.get("block_id", "").startswith("diff_file_")]
    assert texts and all(len(t) <= 3000 for t in texts)
    assert all("cut here; see the attached file" in t for t in texts)
    assert "more files; see the attached file" in str(blocks)
    assert "…and 105 more files" in str(blocks)  # the summary lists 15


@settings(max_examples=40, deadline=None)
@given(
    diff=st.lists(st.text(max_size=4000), max_size=30).map(lambda parts: "diff --git a/x b/x\n".join(parts)),
    title=st.text(max_size=500),
    files=st.lists(
        st.tuples(st.text(max_size=300), st.integers(0, 10**6), st.integers(0, 10**6)), max_size=40
    ),
)
def test_any_diff_fits_the_limits(diff, title, files):
    blocks, _ = build_diff_message(replace(DIFF, diff_text=diff, task_title=title, files=files))
    check_message(blocks)
    assert payload_chars(blocks) <= MESSAGE_TEXT_BUDGET
