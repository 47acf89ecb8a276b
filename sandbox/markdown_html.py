"""The Markdown of Slack's `markdown` block as HTML: the subset an artifact uses.

Headings, paragraphs, bullet and numbered lists (nested by indent, `[ ]` task items), quotes,
fenced code, pipe tables and rules; inline code, **bold**, *italic*, ~~strike~~ and [links](…).
Text is escaped before any tag is added, as in `mrkdwn`.
"""

from __future__ import annotations

import re

from sandbox.mrkdwn import Directory, Held, esc, link

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_LIST = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_AUTO = re.compile(r"<(https?://[^>\s]+)>")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(
    r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"
)
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_TASK = re.compile(r"^\[([ xX])\]\s+")


def inline(text: str, d: Directory) -> str:
    held = Held()
    text = _CODE.sub(lambda m: held.hold(f"<code>{esc(m.group(1))}</code>"), text)
    text = _LINK.sub(lambda m: held.hold(link(m.group(2), m.group(1))), text)
    text = _AUTO.sub(lambda m: held.hold(link(m.group(1), m.group(1))), text)
    text = esc(text)
    text = _BOLD.sub(r"<b>\2</b>", text)
    text = _ITALIC.sub(lambda m: f"<i>{m.group(1) or m.group(2)}</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    return held.restore(text)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(rows: list[str], d: Directory) -> str:
    head, body = _cells(rows[0]), [_cells(r) for r in rows[2:]]
    out = ["<table><thead><tr>", *(f"<th>{inline(c, d)}</th>" for c in head), "</tr></thead><tbody>"]
    for row in body:
        out += ["<tr>", *(f"<td>{inline(c, d)}</td>" for c in row), "</tr>"]
    return "".join([*out, "</tbody></table>"])


def _list(items: list[tuple[int, bool, str]], d: Directory) -> str:
    """Nested lists from (indent, ordered, text) items; deeper indents open a sub-list."""
    out: list[str] = []
    stack: list[tuple[int, str]] = []
    for indent, ordered, text in items:
        tag = "ol" if ordered else "ul"
        while stack and indent < stack[-1][0]:
            out.append(f"</li></{stack.pop()[1]}>")
        if stack and indent == stack[-1][0] and tag != stack[-1][1]:
            out.append(f"</li></{stack.pop()[1]}>")  # a bullet list followed by a numbered one
        if not stack or indent > stack[-1][0]:
            stack.append((indent, tag))
            out.append(f"<{tag}>")
        else:
            out.append("</li>")
        task = _TASK.match(text)
        if task:
            box = "☑" if task.group(1).lower() == "x" else "☐"
            text = text[task.end() :]
            out.append(f'<li class="task"><span class="box">{box}</span> {inline(text, d)}')
        else:
            out.append(f"<li>{inline(text, d)}")
    while stack:
        out.append(f"</li></{stack.pop()[1]}>")
    return "".join(out)


def markdown(text: str, d: Directory) -> str:
    """Markdown as HTML, block by block."""
    lines = (text or "").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.lstrip().startswith("```"):
            end = next(
                (j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith("```")), len(lines)
            )
            out.append(f'<pre class="code">{esc(chr(10).join(lines[i + 1 : end]))}</pre>')
            i = end + 1
            continue
        if heading := _HEADING.match(line):
            level = len(heading.group(1))
            out.append(f"<h{level}>{inline(heading.group(2), d)}</h{level}>")
            i += 1
            continue
        if _RULE.match(line):
            out.append("<hr>")
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            end = i + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            out.append(_table(lines[i:end], d))
            i = end
            continue
        if line.lstrip().startswith(">"):
            quoted = []
            while i < len(lines) and lines[i].lstrip().startswith(">"):
                quoted.append(re.sub(r"^\s*>\s?", "", lines[i]))
                i += 1
            out.append(f"<blockquote>{markdown(chr(10).join(quoted), d)}</blockquote>")
            continue
        if _LIST.match(line):
            items = []
            while i < len(lines) and (item := _LIST.match(lines[i])):
                items.append((len(item.group(1).expandtabs(4)), item.group(2)[0].isdigit(), item.group(3)))
                i += 1
            out.append(_list(items, d))
            continue
        paragraph = []
        while i < len(lines) and lines[i].strip() and not _starts_block(lines, i):
            paragraph.append(lines[i].strip())
            i += 1
        out.append(f"<p>{inline(' '.join(paragraph), d)}</p>")
    return "".join(out)


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _HEADING.match(line) or _LIST.match(line) or _RULE.match(line):
        return True
    if line.lstrip().startswith((">", "```")):
        return True
    return "|" in line and i + 1 < len(lines) and bool(_TABLE_SEP.match(lines[i + 1]))
