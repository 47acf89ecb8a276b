"""Text hygiene for Block Kit: escaping, truncation, splitting, mentions, links and dates.

Everything a user or a model wrote is untrusted: placed raw in mrkdwn, `<!channel>` would ping a
whole channel and `<https://evil|docs>` would disguise a link. So every builder passes such text
through `mrkdwn()` (Slack's escaping rules: `&`, `<`, `>`) or `markdown()` (for `markdown` blocks),
and only mentions and links this module composes from validated ids and URLs stay live.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ELLIPSIS = "…"

# Slack's ids are upper-case letters and digits; the local sandbox's also use `_` (U_APP1), which
# cannot end a `<@…>` token either, so it is allowed and mentions read as names there too.
_USER_ID = re.compile(r"^[UW][A-Z0-9_]{2,20}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9_]{2,20}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9_]{2,20}$")
# A URL we are willing to render as a live link: http(s), no whitespace, nothing that ends the token.
_SAFE_URL = re.compile(r"^https?://[^\s<>|]{1,2900}$")
# Only `> ` (with its space) at a line start is kept, so escaping one character at a time never
# comes out shorter than escaping a whole line: split_text and fit rely on that upper bound.
_LINE_START_QUOTE = re.compile(r"(?m)^([ \t]*)&gt;(?= )")


def mrkdwn(text: str) -> str:
    """Escape text for a mrkdwn field so Slack shows it literally (its three control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(text: str) -> str:
    """Escape text for a `markdown` block.

    Slack still parses its `<…>` tokens there, so `<` and `>` are escaped; `&` is left alone because
    the markdown block does not decode it inside link destinations (query strings would break), and a
    `> ` opening a line stays so Markdown block quotes render: without a `<` no token can form.
    """
    escaped = text.replace("<", "&lt;").replace(">", "&gt;")
    return _LINE_START_QUOTE.sub(r"\1>", escaped)


def plain(text: str) -> str:
    """Text for plain_text objects: Slack never parses tokens there, so only whitespace is tidied."""
    return " ".join(text.split())


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def fit(raw: str, limit: int, escape: Callable[[str], str] = mrkdwn) -> str:
    """`escape(raw)` cut so that the escaped result (ellipsis included) fits in `limit` characters.

    The cut is made on the raw text, so an entity like `&amp;` is never split in half.
    """
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    cut = _prefix_len(raw, limit - len(ELLIPSIS), escape)
    return escape(raw[:cut]) + ELLIPSIS


def preview(raw: str, limit: int, escape: Callable[[str], str] = mrkdwn) -> str:
    """The escaped start of `raw` in at most `limit` characters, cut at a paragraph or line end
    when one is near, with an open code fence closed and a final "…" line when anything was cut."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    tail = "\n```\n…"  # room for a closing fence and the cut mark, used or not
    head = raw[: _prefix_len(raw, limit - len(tail), escape)]
    for sep in ("\n\n", "\n"):
        at = head.rfind(sep)
        if at >= len(head) // 2:
            head = head[:at]
            break
    return close_fences(escape(head.rstrip())) + "\n…"


def _prefix_len(raw: str, room: int, escape: Callable[[str], str]) -> int:
    # The longest prefix whose characters, escaped one by one, fit in `room`. Escaping one character
    # at a time is never shorter than escaping the whole (see _LINE_START_QUOTE), so the prefix fits.
    used = 0
    for i, ch in enumerate(raw):
        used += len(escape(ch))
        if used > room:
            return i
    return len(raw)


def hard_cut(raw: str, limit: int, escape: Callable[[str], str]) -> Iterator[str]:
    """Escaped pieces of `raw`, each at most `limit` characters, cut between raw characters."""
    piece: list[str] = []
    size = 0
    for ch in raw:
        esc = escape(ch)
        if size + len(esc) > limit and piece:
            yield "".join(piece)
            piece, size = [], 0
        piece.append(esc)
        size += len(esc)
    if piece:
        yield "".join(piece)


def split_text(raw: str, limit: int, escape: Callable[[str], str] = mrkdwn) -> list[str]:
    """Escaped chunks of `raw`, each at most `limit` characters, split on paragraph boundaries.

    A paragraph longer than `limit` is split on lines, and a line longer than that is cut hard.
    Whitespace-only chunks are dropped, since Slack refuses empty texts.
    """
    chunks: list[str] = []
    current = ""
    for piece, sep in _pieces(raw, limit, escape):
        if current and len(current) + len(sep) + len(piece) <= limit:
            current += sep + piece
            continue
        if current.strip():
            chunks.append(current)
        current = piece
    if current.strip():
        chunks.append(current)
    return chunks


def _pieces(raw: str, limit: int, escape: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    # Each piece is already escaped and fits; the separator is what joins it to the piece before.
    for i, para in enumerate(raw.split("\n\n")):
        sep = "\n\n" if i else ""
        escaped = escape(para)
        if len(escaped) <= limit:
            yield escaped, sep
            continue
        for j, line in enumerate(para.split("\n")):
            line_sep = sep if j == 0 else "\n"
            for k, part in enumerate(hard_cut(line, limit, escape)):
                yield part, line_sep if k == 0 else ""


def close_fences(text: str) -> str:
    """Close a ``` code fence left open by a cut, so the rest of a message is not swallowed."""
    return text + "\n```" if text.count("```") % 2 else text


def mention(ref: str) -> str:
    """A live mention for a validated Slack id (user, user group or channel); anything else as text."""
    if _USER_ID.match(ref):
        return f"<@{ref}>"
    if _GROUP_ID.match(ref):
        return f"<!subteam^{ref}>"
    if _CHANNEL_ID.match(ref):
        return f"<#{ref}>"
    return fit(ref, 80)


def mentions(refs: list[str], *, empty: str = "—", limit: int = 10) -> str:
    """Several mentions joined by commas; a long list ends with "…and N more"."""
    if not refs:
        return empty
    shown = ", ".join(mention(r) for r in refs[:limit])
    return shown if len(refs) <= limit else f"{shown} …and {len(refs) - limit} more"


def link(url: str | None, label: str) -> str:
    """A mrkdwn link when `url` is a plain http(s) URL; otherwise just the escaped label."""
    safe_label = mrkdwn(label).replace("|", "¦")
    if url and _SAFE_URL.match(url):
        return f"<{url}|{safe_label}>"
    return safe_label


def as_utc(when: datetime) -> datetime:
    # Our timestamps are timezone-aware UTC; a naive one is taken to be UTC rather than local time.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def slack_date(when: datetime) -> str:
    """Slack date formatting, shown in each reader's own timezone, with a UTC fallback."""
    utc = as_utc(when)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def local_time(when: datetime, tz: str) -> str:
    """`14:05 CEST`-style time in `tz`; an unknown timezone name falls back to UTC."""
    try:
        zone: ZoneInfo | None = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone = None
    local = as_utc(when).astimezone(zone or UTC)
    return local.strftime("%H:%M ") + (local.tzname() or "UTC")


def short_sha(sha256: str) -> str:
    return sha256[:8] + ELLIPSIS
