"""Text hygiene: what users and models write is shown literally, cut to size, never split mid-entity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.text import (
    close_fences,
    fit,
    link,
    local_time,
    markdown,
    mention,
    mentions,
    mrkdwn,
    preview,
    slack_date,
    split_text,
    truncate,
)

_ENTITY_SAFE = st.text(alphabet=st.sampled_from(list("ab <>&!@\n`#*")), max_size=400)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_a_broadcast_in_user_text_cannot_ping_anyone():
    assert mrkdwn("hi <!channel> & <@U123>") == "hi &lt;!channel&gt; &amp; &lt;@U123&gt;"


def test_markdown_escaping_keeps_block_quotes_and_ampersands_but_no_tokens():
    escaped = markdown("> quoted\nsee <!here> & <https://evil|docs>")
    assert escaped == "> quoted\nsee &lt;!here&gt; & &lt;https://evil|docs&gt;"
    assert "<" not in escaped


@given(_ENTITY_SAFE, st.integers(min_value=1, max_value=200))
def test_fit_never_exceeds_its_limit_nor_splits_an_entity(raw, limit):
    out = fit(raw, limit)
    assert len(out) <= limit
    # Whatever was kept unescapes to a prefix of the original: no half `&am` survives.
    kept = _unescape(out.removesuffix("…"))
    assert raw.startswith(kept)


@given(_ENTITY_SAFE, st.integers(min_value=5, max_value=300))
def test_split_text_keeps_every_character_within_the_limit(raw, limit):
    chunks = split_text(raw, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    # Only whitespace between chunks may be lost.
    assert "".join(_unescape("".join(chunks)).split()) == "".join(raw.split())


def test_split_text_prefers_paragraph_boundaries():
    text = "first paragraph\n\nsecond paragraph\n\nthird"
    assert split_text(text, 36) == ["first paragraph\n\nsecond paragraph", "third"]


@given(st.text(max_size=3000), st.integers(min_value=20, max_value=2600))
def test_preview_fits_and_closes_a_code_fence_it_cut(raw, limit):
    out = preview(raw, limit, markdown)
    assert len(out) <= limit
    if out != markdown(raw):  # it was cut
        assert out.endswith("\n…")
        assert out.count("```") % 2 == 0


def test_preview_cuts_at_a_paragraph_end_when_one_is_near():
    text = "a" * 60 + "\n\n" + "b" * 100
    assert preview(text, 100) == "a" * 60 + "\n…"


def test_close_fences_only_touches_an_open_fence():
    assert close_fences("```\ncode") == "```\ncode\n```"
    assert close_fences("```\ncode\n```") == "```\ncode\n```"


def test_truncate_marks_the_cut():
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"


def test_only_well_formed_ids_become_live_mentions():
    assert mention("U012AB3CD") == "<@U012AB3CD>"
    assert mention("S0GROUP1") == "<!subteam^S0GROUP1>"
    assert mention("C0CHANNEL") == "<#C0CHANNEL>"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mentions(["U1AA"] * 12, limit=10).endswith("…and 2 more")
    assert mentions([]) == "—"


def test_links_are_live_only_for_plain_http_urls():
    assert (
        link("https://example.com/x?a=1", "G-0001 · <b>") == "<https://example.com/x?a=1|G-0001 · &lt;b&gt;>"
    )
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://ok|<!channel>", "x") == "x"
    assert link(None, "a&b") == "a&amp;b"


def test_slack_dates_carry_the_epoch_and_a_utc_fallback():
    when = datetime(2026, 7, 1, 16, 5, tzinfo=timezone(timedelta(hours=2)))
    assert slack_date(when) == "<!date^1782914700^{date_short_pretty} {time}|2026-07-01 14:05 UTC>"


def test_local_time_uses_the_timezone_and_falls_back_to_utc():
    when = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)
    assert local_time(when, "Europe/Paris") == "14:05 CET"
    assert local_time(when, "Not/AZone") == "13:05 UTC"
    assert local_time(datetime(2026, 1, 15, 13, 5), "UTC") == "13:05 UTC"  # naive taken as UTC
