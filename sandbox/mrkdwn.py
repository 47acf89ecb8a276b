"""Slack's text formats as safe HTML for the web page: mrkdwn, and the Markdown of `markdown` blocks.

Everything from the bot is escaped first; only the tags built here reach the page, and links keep
only http(s) and mailto addresses, so a message can never run script in the page. References are
shown the way Slack's client shows them: `<@U1>` as @riley, `<!date^…|fallback>` as its fallback.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Directory:
    """Names the page shows for ids: people, channels and user groups."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)


_FENCE = re.compile(r"```(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_REF = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s\"'<>]+$", re.I)
_HOLD = re.compile(r"\x00(\d+)\x00")
_EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "warning": "⚠️",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "tada": "🎉",
    "lock": "🔒",
    "pencil2": "✏️",
    "no_entry": "⛔",
    "rocket": "🚀",
    "eyes": "👀",
    "bell": "🔔",
    "memo": "📝",
    "paperclip": "📎",
    "robot_face": "🤖",
    "thumbsup": "👍",
    "+1": "👍",
}
_EMOJI_RE = re.compile(r":([a-z0-9_+\-]+):")


def unescape(text: str) -> str:
    """Slack escapes only these three in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def is_safe_url(url: str) -> bool:
    return bool(_SAFE_URL.match(url))


def link(url: str, label: str) -> str:
    """An anchor for a safe address; anything else is shown as text, never as a link."""
    if not _SAFE_URL.match(url):
        return esc(label)
    return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'


def _mention(label: str, kind: str = "user") -> str:
    return f'<span class="mention {kind}">{esc(label)}</span>'


def reference(inner: str, d: Directory) -> str:
    """One `<…>` control sequence as HTML."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return _mention("@" + (label or d.user(target[1:])))
    if target.startswith("#"):
        return _mention("#" + (label or d.channels.get(target[1:], target[1:])), "channel")
    if target.startswith("!subteam^"):
        group = target.removeprefix("!subteam^")
        return _mention(label or "@" + d.groups.get(group, group), "group")
    if target.startswith("!date^"):
        # <!date^epoch^format|fallback>: the fallback is what a client without the viewer's locale shows.
        return esc(label or target)
    if target.startswith("!"):
        return _mention("@" + target[1:].split("^")[0], "special")
    url = unescape(target)
    return link(url, unescape(label) if label else url)


class Held:
    """Pieces of finished HTML set aside while the text around them is escaped and formatted."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def hold(self, fragment: str) -> str:
        self.parts.append(fragment)
        return f"\x00{len(self.parts) - 1}\x00"

    def restore(self, text: str) -> str:
        while _HOLD.search(text):
            text = _HOLD.sub(lambda m: self.parts[int(m.group(1))], text)
        return text


def _known_ids(d: Directory) -> re.Pattern[str] | None:
    # The sandbox's seeded ids (U_REQ, C_DEV) are not valid Slack ids, so a bot prints them as plain
    # text rather than as mentions; show them as the names they stand for, as a person reads them.
    ids = sorted((i for i in [*d.users, *d.channels] if "_" in i), key=len, reverse=True)
    if not ids:
        return None
    return re.compile(r"(?<![A-Za-z0-9@])#?(" + "|".join(map(re.escape, ids)) + r")(?![A-Za-z0-9])")


def _name_of(found: str, d: Directory) -> str:
    if found in d.channels:
        return _mention("#" + d.channels[found], "channel")
    return _mention("@" + d.user(found))


def _format(text: str, d: Directory, held: Held, *, refs: bool = True) -> str:
    if refs:
        text = _REF.sub(lambda m: held.hold(reference(m.group(1), d)), text)
    if (ids := _known_ids(d)) is not None:
        text = ids.sub(lambda m: held.hold(_name_of(m.group(1), d)), text)
    text = esc(unescape(text))
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    return _EMOJI_RE.sub(lambda m: _EMOJI.get(m.group(1), m.group(0)), text)


def _inline(line: str, d: Directory, held: Held, *, refs: bool = True) -> str:
    line = _CODE.sub(lambda m: held.hold(f"<code>{esc(unescape(m.group(1)))}</code>"), line)
    return _format(line, d, held, refs=refs)


def mrkdwn(text: str, d: Directory) -> str:
    """Slack mrkdwn (`*bold*`, `_italic_`, `~strike~`, code, quotes, references) as HTML."""
    held = Held()
    out: list[str] = []
    for i, part in enumerate(_FENCE.split(text or "")):
        if i % 2:
            out.append(held.hold(f'<pre class="code">{esc(unescape(part.strip(chr(10))))}</pre>'))
            continue
        lines: list[str] = []
        quote: list[str] = []
        for line in part.split("\n"):
            stripped = unescape(line[:4]).startswith(">")
            if stripped:
                body = re.sub(r"^(&gt;|>)\s?", "", line)
                quote.append(_inline(body, d, held))
                continue
            if quote:
                lines.append(held.hold("<blockquote>" + "<br>".join(quote) + "</blockquote>"))
                quote = []
            lines.append(_inline(line, d, held))
        if quote:
            lines.append(held.hold("<blockquote>" + "<br>".join(quote) + "</blockquote>"))
        out.append("<br>".join(lines))
    return held.restore("".join(out))


def plain(text: str) -> str:
    """A plain_text object's text: escaped, line breaks kept, nothing formatted."""
    return esc(text or "").replace("\n", "<br>")


def text_html(obj: object, d: Directory) -> str:
    """A Block Kit text object (mrkdwn or plain_text) as HTML."""
    if isinstance(obj, dict):
        if obj.get("type") == "mrkdwn":
            return mrkdwn(str(obj.get("text", "")), d)
        return plain(str(obj.get("text", "")))
    return plain("" if obj is None else str(obj))
