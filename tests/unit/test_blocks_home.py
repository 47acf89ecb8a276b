"""The App Home tab: capped lists, goals grouped by phase in SOP order, never over 100 blocks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks import HomeView, build_home
from bot.blocks.limits import check_view

HOME = HomeView(
    user="U0ME",
    pending_approvals=[
        ("G-0003", "CSV export", "PRD", "waiting 3h", "SLA in 2h", "https://example.slack.com/p1")
    ],
    my_goals=[
        ("G-0005", "Dark mode", "Implementation", "in progress"),
        ("G-0004", "Audit log", "PRD", "awaiting approval"),
        ("G-0006", "Search", "PRD", "drafting"),
    ],
    recent=["G-0003 PRD v2 posted"],
)


def _texts(view: dict) -> list[str]:
    out = []
    for block in view["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", [])]
    return out


def test_home_shows_what_waits_for_the_reader_first():
    view = build_home(HOME)
    check_view(view)
    assert view["type"] == "home"
    texts = _texts(view)
    pending_title = texts.index("*⏳ Waiting for your approval* (1)")
    assert texts[pending_title + 1] == (
        "*<https://example.slack.com/p1|G-0003 · CSV export>*\nPRD · waiting 3h · SLA in 2h"
    )
    assert pending_title < texts.index("*🎯 Your goals* (3)") < texts.index("*🕘 Recent activity*")


def test_goals_are_grouped_by_phase_in_procedure_order():
    texts = _texts(build_home(HOME))
    groups = [t for t in texts if t.startswith("*PRD*") or t.startswith("*Implementation*")]
    assert groups == [
        "*PRD*\n• G-0004 · Audit log — awaiting approval\n• G-0006 · Search — drafting",
        "*Implementation*\n• G-0005 · Dark mode — in progress",
    ]


def test_empty_lists_say_so():
    texts = _texts(build_home(HomeView(user="U0ME")))
    assert "_Nothing waits for you._" in texts
    assert "_Nothing yet._" in texts


def test_a_busy_team_stays_under_100_blocks_with_more_markers():
    busy = HomeView(
        user="U0ME",
        pending_approvals=[
            (f"G-{i:04d}", "<!channel> t" * 50, "PRD", "1h", "late", None) for i in range(500)
        ],
        my_goals=[(f"G-{i:04d}", "x" * 500, f"Phase {i % 40}", "s" * 100) for i in range(2000)],
        recent=["<!here> event " * 40] * 300,
    )
    view = build_home(busy)
    check_view(view)
    assert len(view["blocks"]) <= 100
    assert all(len(t) <= 3000 for t in _texts(view))
    texts = _texts(view)
    assert "…and 485 more waiting for you" in texts
    assert "…and 290 more earlier" in texts
    assert any(t.startswith("…and ") and t.endswith("goals in other phases") for t in texts)
    assert "<!channel>" not in str(view) and "<!here>" not in str(view)


_TEXT = st.text(max_size=400)


@settings(max_examples=40, deadline=None)
@given(
    user=_TEXT,
    pending=st.lists(st.tuples(_TEXT, _TEXT, _TEXT, _TEXT, _TEXT, st.none() | _TEXT), max_size=40),
    goals=st.lists(
        st.tuples(_TEXT, _TEXT, st.sampled_from(["PRD", "Task List", "x"]) | _TEXT, _TEXT), max_size=80
    ),
    recent=st.lists(_TEXT, max_size=30),
)
def test_any_home_content_gives_a_valid_view(user, pending, goals, recent):
    view = build_home(HomeView(user=user, pending_approvals=pending, my_goals=goals, recent=recent))
    check_view(view)
    assert len(view["blocks"]) <= 100
    assert all(len(t) <= 3000 for t in _texts(view))


def test_goals_needing_attention_come_first_in_one_capped_block_and_only_when_there_are_some():
    from dataclasses import replace

    assert "home_attention" not in [b.get("block_id") for b in build_home(HOME)["blocks"]]
    stuck = [
        (f"G-{n:04d}", "1 failed step(s): Slack answered HTTP 500 — Retry in its thread") for n in range(25)
    ]
    view = build_home(replace(HOME, attention=stuck))
    check_view(view)
    blocks = view["blocks"]
    first = next(i for i, b in enumerate(blocks) if b.get("block_id") == "home_attention")
    assert first < next(i for i, b in enumerate(blocks) if b.get("block_id") == "home_pending_title")
    text = blocks[first]["text"]["text"]
    assert text.startswith("*⚠️ Needs attention* (25)") and "G-0009" in text and "G-0010" not in text
    assert "…and 15 more" in text
