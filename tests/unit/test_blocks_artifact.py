"""Artifact messages: the whole text or a preview plus a file, and buttons bound to the exact version."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.blocks import (
    ArtifactView,
    ButtonRef,
    DecisionView,
    build_artifact_message,
    build_decided_artifact_message,
    decode_button_value,
)
from bot.blocks.limits import MESSAGE_TEXT_BUDGET, check_message, payload_chars
from bot.sop.phases import Phase

SHA = "3f2a9c1b" + "cd" * 28
PRD = ArtifactView(
    goal_id="G-0003",
    phase=Phase.PRD,
    phase_label="PRD",
    version=2,
    sha256=SHA,
    markdown="# CSV export\n\n## Goals\n- export <50k rows\n\n> keep it simple",
    summary="Adds a CSV export to the reports page.",
    drafted_by="gpt-5-codex",
    approvals_needed=2,
    approvals_so_far=["U0APP1"],
)
AT = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)


def _by_type(blocks: list[dict], kind: str) -> list[dict]:
    return [b for b in blocks if b["type"] == kind]


def _actions(blocks: list[dict]) -> list[dict]:
    return [b for b in blocks if b.get("block_id") == "artifact_actions"]


def test_a_short_artifact_is_posted_whole_with_its_three_buttons():
    blocks, upload = build_artifact_message(PRD)
    check_message(blocks)
    assert upload is None
    assert blocks[0]["text"]["text"] == "PRD v2 for G-0003"
    (body,) = _by_type(blocks, "markdown")
    assert body["text"] == "# CSV export\n\n## Goals\n- export &lt;50k rows\n\n> keep it simple"
    (actions,) = _actions(blocks)
    assert [e["action_id"] for e in actions["elements"]] == [
        "orch_approve",
        "orch_request_changes",
        "orch_reject",
    ]
    refs = {decode_button_value(e["value"]) for e in actions["elements"]}
    assert refs == {ButtonRef("G-0003", Phase.PRD, 2, SHA)}


def test_the_context_line_names_version_hash_drafter_and_approvals():
    blocks, _ = build_artifact_message(PRD)
    meta = next(b for b in blocks if b.get("block_id") == "artifact_meta")
    assert [e["text"] for e in meta["elements"]] == [
        "v2 · sha256 3f2a9c1b…",
        "Drafted by gpt-5-codex",
        "Approvals 1 of 2: <@U0APP1>",
    ]
    offline, _ = build_artifact_message(replace(PRD, offline=True))
    assert "Drafted offline (no model)" in str(offline)


def test_a_long_artifact_gets_a_preview_and_the_full_text_for_upload():
    long_md = "\n\n".join(f"## Section {i}\n" + "words " * 150 for i in range(40))
    blocks, upload = build_artifact_message(replace(PRD, markdown=long_md))
    check_message(blocks)
    assert upload == long_md
    (body,) = _by_type(blocks, "markdown")
    assert len(body["text"]) <= 2500
    assert body["text"].endswith("\n…")
    assert "Full text attached as a file" in str(blocks)


def test_revised_versions_say_what_feedback_they_address():
    blocks, _ = build_artifact_message(
        replace(PRD, version=3, feedback_addressed="Drop <!here> the PDF option")
    )
    feedback = next(b for b in blocks if b.get("block_id") == "artifact_feedback")
    assert feedback["text"]["text"] == "*Feedback addressed*\nDrop &lt;!here&gt; the PDF option"


def test_the_decided_message_has_no_buttons_and_says_who_decided():
    decided = build_decided_artifact_message(
        PRD, DecisionView("approve", "U0APP2", AT, 2, SHA, None, "Europe/Paris")
    )
    check_message(decided)
    assert not _by_type(decided, "actions")
    assert decided[-1]["elements"][0]["text"] == "✅ Approved by <@U0APP2> at 14:05 CEST (v2, sha 3f2a9c1b…)"
    posted, _ = build_artifact_message(PRD)
    assert decided[:-1] == posted[:-1]  # same content, only the buttons replaced


def test_changes_and_rejections_carry_their_reason_escaped():
    changes = build_decided_artifact_message(
        PRD, DecisionView("request_changes", "U0APP2", AT, 2, SHA, "Split <!channel> it", "UTC")
    )
    assert changes[-1]["elements"][0]["text"] == (
        "✏️ Changes requested by <@U0APP2> at 12:05 UTC (v2, sha 3f2a9c1b…): Split &lt;!channel&gt; it"
    )
    rejected = build_decided_artifact_message(
        PRD, DecisionView("reject", "U0APP2", AT, 2, SHA, "Out of scope", "UTC")
    )
    assert rejected[-1]["elements"][0]["text"].startswith("⛔ Rejected by <@U0APP2>")
    assert rejected[-1]["elements"][0]["text"].endswith(": Out of scope")


def test_a_huge_summary_and_feedback_still_leave_a_valid_message():
    view = replace(PRD, summary="s" * 50_000, feedback_addressed="&" * 50_000, drafted_by="<" * 5000)
    blocks, _ = build_artifact_message(view)
    check_message(blocks)


_PIECES = st.one_of(
    st.text(max_size=2000),
    st.text(alphabet="<>&`\n #>*", max_size=3000),
    st.sampled_from(["\n\n", "\n", "```", "<!channel>", "&amp;", "> quote\n", "# Heading\n", "<" * 700]),
)
_MARKDOWN = st.one_of(
    st.lists(_PIECES, max_size=60).map(lambda parts: "".join(parts)[:100_000]),
    # Hypothesis favours small inputs; repetition reaches the sizes where the limits bite.
    st.builds(
        lambda unit, n: (unit * n)[:100_000],
        st.text(min_size=1, max_size=60),
        st.integers(0, 5000) | st.sampled_from([300, 2_000, 5_000]),
    ),
    st.builds(
        lambda parts, n: ("".join(parts) * n)[:100_000],
        st.lists(_PIECES, min_size=1, max_size=8),
        st.sampled_from([2, 10, 50, 500]),
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(markdown=_MARKDOWN, summary=st.text(max_size=4000))
@example(markdown="x" * 100_000, summary="")
@example(markdown="<" * 100_000, summary="<" * 4000)
@example(markdown="\n\n".join(["p" * 2999] * 33), summary="s")
@example(markdown="```\n" + "a <b>\n" * 16_000, summary="s")
@example(markdown="> " + "&" * 11_000, summary="")
def test_any_markdown_up_to_100k_chars_never_breaks_the_limits(markdown, summary):
    blocks, upload = build_artifact_message(replace(PRD, markdown=markdown, summary=summary))
    check_message(blocks)  # 50 blocks, per-block limits, round trip through slack_sdk
    assert payload_chars(blocks) <= MESSAGE_TEXT_BUDGET
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "markdown":
            assert len(block["text"]) <= 12_000
            assert "<" not in block["text"]  # no Slack token can survive from the artifact
    for element in _actions(blocks)[0]["elements"]:
        assert len(element["value"]) <= 2000
        assert decode_button_value(element["value"]).sha256 == SHA
    shown = "".join(b["text"] for b in _by_type(blocks, "markdown"))
    if upload is None:  # then nothing may be missing: compare with angle brackets and their entities gone

        def bare(text: str) -> list[str]:
            for token in ("&lt;", "&gt;", "<", ">"):
                text = text.replace(token, "")
            return text.split()

        assert bare(shown) == bare(markdown)
    else:
        assert upload == markdown


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    label=st.text(max_size=300),
    drafted_by=st.text(max_size=300),
    approvals=st.lists(st.text(max_size=100), max_size=30),
    by=st.text(max_size=100),
    reason=st.none() | st.text(max_size=5000),
    tz=st.text(max_size=60) | st.sampled_from(["Europe/Paris", "America/New_York", "UTC"]),
    decision=st.sampled_from(["approve", "request_changes", "reject"]),
    markdown=_MARKDOWN,
)
def test_any_decision_gives_a_valid_message_without_buttons_and_the_same_content(
    label, drafted_by, approvals, by, reason, tz, decision, markdown
):
    view = replace(
        PRD, phase_label=label, drafted_by=drafted_by, approvals_so_far=approvals, markdown=markdown
    )
    posted, _ = build_artifact_message(view)
    check_message(posted)
    decided = build_decided_artifact_message(view, DecisionView(decision, by, AT, 2, SHA, reason, tz))
    check_message(decided)
    assert not _by_type(decided, "actions")
    # Whatever the reason's length, the decided message shows what was posted (and says the same
    # about an attached file).
    assert decided[:-1] == posted[:-1]


@pytest.mark.parametrize("size", range(8_000, 11_000, 250))
def test_near_the_budget_posted_and_decided_messages_agree_on_the_body(size):
    view = replace(PRD, markdown="w" * size)
    posted, _ = build_artifact_message(view)
    decided = build_decided_artifact_message(
        view, DecisionView("reject", "U0APP2", AT, 2, SHA, "r" * 5000, "UTC")
    )
    assert decided[:-1] == posted[:-1]
