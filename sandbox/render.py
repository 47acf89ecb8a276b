"""Plain-text renderings of what a person would see: channels, threads, modals, Home tabs.

Used by `Sandbox.transcript`, by failure dumps, and by the demo. Blocks are shown compactly:
headers in capitals, section and context text, buttons as `[Approve]`, inputs as `Label: ____`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.blocks import text_of
from sandbox.state import State, ts_key

if TYPE_CHECKING:
    from sandbox.delivery import Delivery

Names = Callable[[str], str]

_USER = re.compile(r"<@([A-Z0-9_]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([A-Z0-9_]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")


def clock_time(ts: str) -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M:%S")
    except (TypeError, ValueError, OverflowError):
        return "??:??:??"


def readable(text: str, names: Names) -> str:
    """Turn Slack's mrkdwn references into what the client shows: <@U1> becomes @riley."""
    text = _USER.sub(lambda m: "@" + names(m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return _BARE_LINK.sub(lambda m: m.group(1), text)


def _rich_text(element: Any) -> str:
    if isinstance(element, dict):
        if element.get("type") == "text":
            return str(element.get("text", ""))
        if element.get("type") == "user":
            return f"<@{element.get('user_id', '')}>"
        if element.get("type") == "link":
            return str(element.get("text") or element.get("url", ""))
        return "".join(_rich_text(e) for e in element.get("elements", []))
    return ""


def _element_text(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{text_of(element.get('text'))}]"
    if kind in ("mrkdwn", "plain_text"):
        return str(element.get("text", ""))
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind == "overflow":
        return "[…]"
    placeholder = text_of(element.get("placeholder")) or kind or "?"
    return f"[{placeholder} ▾]"


def block_lines(blocks: Iterable[dict[str, Any]], errors: dict[str, str] | None = None) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(text_of(block.get("text")).upper())
        elif kind == "section":
            text = text_of(block.get("text"))
            if block.get("fields"):
                text = " | ".join(filter(None, [text, *(text_of(f) for f in block["fields"])]))
            if isinstance(block.get("accessory"), dict):
                text = f"{text}  {_element_text(block['accessory'])}".strip()
            lines.extend(text.splitlines() or [""])
        elif kind == "markdown":
            lines.extend(str(block.get("text", "")).splitlines())
        elif kind == "context":
            lines.append("  " + " · ".join(_element_text(e) for e in block.get("elements", [])))
        elif kind in ("actions", "context_actions"):
            lines.append(" ".join(_element_text(e) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("────")
        elif kind == "input":
            element = block.get("element", {})
            value = element.get("initial_value") or ""
            optional = " (optional)" if block.get("optional") else ""
            shown = (
                f"{value}"
                if value
                else ("____" if "input" in element.get("type", "") else _element_text(element))
            )
            lines.append(f"{text_of(block.get('label'))}{optional}: {shown}")
            if errors and block.get("block_id") in errors:
                lines.append(f"  ⚠ {errors[block['block_id']]}")
        elif kind == "rich_text":
            lines.extend(_rich_text(block).splitlines())
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        else:
            lines.append(f"[{kind} block]")
    return lines


def plain_text(msg: dict[str, Any]) -> str:
    """Everything readable in a message (text, blocks, file names), for `text_contains` checks."""
    parts = [str(msg.get("text", "")), *block_lines(msg.get("blocks") or [])]
    parts += [f"{f.get('name', '')} {f.get('title', '')}" for f in msg.get("files") or []]
    return "\n".join(parts)


def message_lines(msg: dict[str, Any], names: Names, *, note: str = "") -> list[str]:
    author = names(msg.get("user") or "") or "?"
    if msg.get("bot_id"):
        author += " [bot]"
    body = block_lines(msg["blocks"]) if msg.get("blocks") else str(msg.get("text", "")).splitlines()
    body = [readable(line, names) for line in body] or [""]
    flags = " (edited)" if msg.get("edited") else ""
    lines = [f"{clock_time(msg['ts'])}  {author}: {body[0]}{flags}{note}"]
    lines += [f"          {line}" for line in body[1:]]
    for f in msg.get("files") or []:
        lines.append(
            f"          📎 {f.get('title') or f.get('name')} ({f.get('name')}, {f.get('size', 0)} bytes)"
        )
    if msg.get("reactions"):
        lines.append("          " + "  ".join(f":{r['name']}: {r['count']}" for r in msg["reactions"]))
    return lines


def conversation(
    title: str,
    messages: list[dict[str, Any]],
    names: Names,
    *,
    thread: bool = False,
    ephemerals: list[dict[str, Any]] | None = None,
) -> str:
    """A channel (parents with reply counts) or a thread (replies indented), plus a viewer's ephemerals."""
    entries = [(m, "") for m in messages] + [(m, "  (only visible to you)") for m in ephemerals or []]
    lines = [title]
    for msg, note in sorted(entries, key=lambda e: ts_key(e[0]["ts"])):
        is_reply = bool(msg.get("thread_ts")) and msg["thread_ts"] != msg["ts"]
        indent = "    ↳ " if thread and is_reply else ""
        body = message_lines(msg, names, note=note)
        lines.append(indent + body[0])
        lines += [" " * len(indent) + line for line in body[1:]]
        count = msg.get("reply_count", 0)
        if not thread and count:
            lines.append(f"          └ {count} repl{'y' if count == 1 else 'ies'}")
    return "\n".join(lines)


def view_text(view: dict[str, Any], errors: dict[str, str] | None = None, names: Names | None = None) -> str:
    kind = "Home" if view.get("type") == "home" else "Modal"
    lines = [f"┌ {kind}: {text_of(view.get('title'))} ({view.get('callback_id') or view.get('id')})"]
    body = block_lines(view.get("blocks") or [], errors)
    lines += ["│ " + (readable(line, names) if names else line) for line in body]
    if errors and errors.get(""):
        lines.append(f"│ ⚠ {errors['']}")
    footer = " ".join(f"[{text_of(view.get(k))}]" for k in ("close", "submit") if view.get(k))
    if footer:
        lines.append(f"└ {footer}")
    return "\n".join(lines)


def dump(state: State, deliveries: list[Delivery], names: Names, *, messages: int = 8, calls: int = 6) -> str:
    """The recent workspace in a few lines: what a failed wait shows. The caller holds the lock."""
    recent = sorted(
        ((m, c) for c in state.channels.values() for m in c.messages), key=lambda mc: ts_key(mc[0]["ts"])
    )[-messages:]
    lines = ["--- recent messages ---"]
    for msg, conv in recent:
        where = conv.id + (f" thread {msg['thread_ts']}" if msg.get("thread_ts") else "")
        lines += [f"[{where}] {line}" for line in message_lines(msg, names)]
    for e in state.ephemerals[-3:]:
        lines += [f"[{e.channel} ephemeral to {e.user}] {line}" for line in message_lines(e.message, names)]
    for uid, stack in state.modals.items():
        lines.append(f"--- modal in front of {uid} ---")
        lines.append(view_text(stack[-1], state.view_errors.get(stack[-1]["id"])))
    lines.append("--- recent Web API calls ---")
    lines += [f"{c.method} -> {'ok' if c.ok else c.error} ({c.status})" for c in state.calls[-calls:]]
    lines.append("--- recent deliveries ---")
    lines += [f"{d.kind} -> HTTP {d.status} {d.outcome or ''}".rstrip() for d in deliveries[-3:]]
    return "\n".join(lines)
