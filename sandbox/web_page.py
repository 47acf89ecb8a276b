"""The web page's panes, rendered on the server from the workspace state.

`panes()` gives the sidebar, the open channel (or the App Home), the thread side panel and the
modal in front of the viewer, as HTML strings; the page's script swaps in the ones that changed
whenever the state changes. `page()` is the whole document for a first load. Callers hold no lock;
each function takes `state.lock` and only reads (opening a DM is left to the person's first post).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.blocks import text_of
from sandbox.clock import describe_offset
from sandbox.mrkdwn import Directory, esc, mrkdwn
from sandbox.state import BOT_USER_ID, SLACKBOT_ID, TEAM_NAME, Channel, State, ts_key
from sandbox.web_blocks import attr, blocks_html, files_html

# What Slack learns from an app's manifest; the sandbox stands in for it with the bot's own values.
MESSAGE_SHORTCUTS: tuple[tuple[str, str], ...] = (("orch_goal_from_thread", "Start goal from thread"),)
COMMANDS: tuple[str, ...] = ("/orch",)


@dataclass(frozen=True)
class Where:
    """What the viewer has open: who they are, a channel or the Home tab, and maybe a thread."""

    user: str
    channel: str
    thread: str | None = None
    home: bool = False


def dm_id(user_id: str) -> str:
    """The id of a person's DM with the bot, the same rule as `State.dm`, without creating it."""
    return "D" + (user_id[1:] if user_id.startswith("U") else user_id)


def people(state: State) -> list[str]:
    return [u.id for u in state.users.values() if not u.is_bot]


def directory(state: State) -> Directory:
    users = {u.id: u.name for u in state.users.values()}
    users.setdefault(SLACKBOT_ID, "Slackbot")
    channels = {c.id: c.name for c in state.channels.values() if not c.is_im}
    groups = {g.id: g.handle for g in state.usergroups.values()}
    return Directory(users=users, channels=channels, groups=groups)


def resolve(state: State, user: str | None, channel: str | None, thread: str | None, home: bool) -> Where:
    """A valid place for the viewer: unknown users and channels fall back to the first ones."""
    with state.lock:
        everyone = people(state)
        uid = user if user in everyone else (everyone[0] if everyone else BOT_USER_ID)
        public = sorted((c for c in state.channels.values() if not c.is_im), key=lambda c: c.name)
        own_dm = dm_id(uid)
        if channel != own_dm and (channel not in state.channels or state.channels[channel].is_im):
            channel = public[0].id if public else own_dm
        return Where(uid, str(channel), thread or None, home)


def _when(ts: str, fmt: str = "%H:%M") -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime(fmt)
    except (TypeError, ValueError, OverflowError):
        return ""


def _avatar(user_id: str, name: str) -> str:
    hue = int(hashlib.sha256(user_id.encode()).hexdigest()[:4], 16) % 360
    return f'<div class="avatar" style="background:hsl({hue} 45% 42%)">{esc(name[:1].upper() or "?")}</div>'


def message_html(
    msg: dict[str, Any],
    d: Directory,
    channel: str,
    *,
    ephemeral: bool = False,
    in_thread: bool = False,
    thread_open: str | None = None,
) -> str:
    uid = str(msg.get("user") or "")
    is_bot = bool(msg.get("bot_id")) or uid == BOT_USER_ID
    name = (msg.get("bot_profile") or {}).get("name") if is_bot else None
    name = name or d.user(uid)
    badge = '<span class="badge">APP</span>' if is_bot else ""
    edited = '<span class="edited">(edited)</span>' if msg.get("edited") else ""
    if msg.get("streaming"):  # chat.startStream: the bot is still writing it
        edited += '<span class="edited streaming">(writing…)</span>'
    if msg.get("subtype") == "tombstone":
        content = '<div class="tombstone">This message was deleted.</div>'
    elif msg.get("blocks"):
        content = blocks_html(msg["blocks"], d)
    else:
        content = f'<div class="text">{mrkdwn(str(msg.get("text", "")), d)}</div>'
    extras = files_html(msg.get("files"))
    if msg.get("reactions"):
        extras += (
            '<div class="reactions">'
            + "".join(
                f'<span class="reaction">:{esc(r["name"])}: {int(r.get("count", 0))}</span>'
                for r in msg["reactions"]
            )
            + "</div>"
        )
    if ephemeral:
        extras += '<div class="ephemeral-note">👁 Only visible to you</div>'
        parent = msg.get("thread_ts")
        if parent and not in_thread and parent != thread_open:
            extras += (
                f'<a href="#" class="thread-link" data-thread="{attr(parent)}">in a thread · open it</a>'
            )
    count = int(msg.get("reply_count") or 0)
    if count and not in_thread:
        last = _when(str(msg.get("latest_reply", "")))
        replies = f"{count} repl{'y' if count == 1 else 'ies'}"
        extras += (
            f'<a href="#" class="thread-link" data-thread="{attr(msg["ts"])}">{replies}</a>'
            f'<span class="thread-last">Last reply {last}</span>'
        )
    kind = "msg ephemeral" if ephemeral else "msg"
    actions = "" if ephemeral else '<button type="button" class="more" title="More actions">⋯</button>'
    when = _when(msg["ts"])
    return (
        f'<div class="{kind}" data-channel="{attr(channel)}" data-ts="{attr(msg["ts"])}"'
        f' data-ephemeral="{int(ephemeral)}" data-thread-ts="{attr(msg.get("thread_ts") or "")}">'
        f'{_avatar(uid, name)}<div class="msg-body"><div class="msg-head"><span class="author">{esc(name)}'
        f'</span>{badge}<span class="time" title="{_when(msg["ts"], "%Y-%m-%d %H:%M:%S UTC")}">{when}</span>'
        f'{edited}</div><div class="msg-content">{content}</div>{extras}</div>'
        f'<div class="msg-actions">{actions}</div></div>'
    )


def _sorted(entries: list[tuple[dict[str, Any], bool]]) -> list[tuple[dict[str, Any], bool]]:
    return sorted(entries, key=lambda e: ts_key(e[0]["ts"]))


def _mine(state: State, where: Where, channel_id: str) -> list[dict[str, Any]]:
    return [e.message for e in state.ephemerals if e.user == where.user and e.channel == channel_id]


def _title(conv: Channel | None, where: Where, d: Directory) -> str:
    if conv is None or conv.is_im:
        return "orch"
    return f"#{conv.name}"


def sidebar_html(state: State, where: Where, d: Directory) -> str:
    def item(cid: str, label: str, active: bool, latest: str) -> str:
        cls = "nav-item active" if active else "nav-item"
        return (
            f'<a href="#" class="{cls}" data-channel="{attr(cid)}" data-latest="{attr(latest)}">{label}</a>'
        )

    def latest(cid: str) -> str:
        conv = state.channels.get(cid)
        stamps = [m["ts"] for m in state.top_level(conv)] if conv else []
        stamps += [m["ts"] for m in _mine(state, where, cid)]
        return max(stamps, key=ts_key) if stamps else ""

    home_cls = "nav-item home active" if where.home else "nav-item home"
    out = [
        f'<div class="workspace">{esc(TEAM_NAME)}</div><nav>',
        f'<a href="#" class="{home_cls}" data-home="1">🏠 Home · orch</a>',
        '<div class="nav-title">Channels</div>',
    ]
    for conv in sorted((c for c in state.channels.values() if not c.is_im), key=lambda c: c.name):
        label = f'<span class="hash">#</span> {esc(conv.name)}' + (" 🗄" if conv.archived else "")
        out.append(item(conv.id, label, not where.home and where.channel == conv.id, latest(conv.id)))
    out.append('<div class="nav-title">Direct messages</div>')
    own = dm_id(where.user)
    out.append(
        item(
            own,
            '<span class="dot"></span> orch <span class="badge">APP</span>',
            not where.home and where.channel == own,
            latest(own),
        )
    )
    return "".join(out) + "</nav>"


def main_html(state: State, where: Where, d: Directory) -> str:
    if where.home:
        home = state.homes.get(where.user)
        body = (
            blocks_html(home.get("blocks"), d)
            if home
            else '<div class="empty">Opening the app\'s Home tab…</div>'
        )
        view = attr(home["id"]) if home else ""
        return (
            f'<div class="pane-head"><h2>🏠 orch</h2><span class="sub">Home</span></div>'
            f'<div class="home-view" data-view-id="{view}">{body}</div>'
        )
    conv = state.channels.get(where.channel)
    entries: list[tuple[dict[str, Any], bool]] = [(m, False) for m in (state.top_level(conv) if conv else [])]
    entries += [
        (m, True)
        for m in _mine(state, where, where.channel)
        if not m.get("thread_ts") or m.get("thread_ts") != where.thread
    ]
    rows = [
        message_html(m, d, where.channel, ephemeral=e, thread_open=where.thread) for m, e in _sorted(entries)
    ]
    if not rows:
        hint = "Try <code>/orch start &lt;what to build&gt;</code> or <code>@orch help</code>."
        rows = [f'<div class="empty">No messages yet. {hint}</div>']
    sub = "Direct message with the app" if conv is None or conv.is_im else f"{len(conv.members)} members"
    return (
        f'<div class="pane-head"><h2>{esc(_title(conv, where, d))}</h2><span class="sub">{esc(sub)}</span></div>'
        f'<div class="messages" id="messages">{"".join(rows)}</div>'
    )


def thread_html(state: State, where: Where, d: Directory) -> str:
    if not where.thread or where.home:
        return ""
    conv = state.channels.get(where.channel)
    parent = conv.find(where.thread) if conv else None
    head = (
        f'<div class="pane-head"><h2>Thread</h2><span class="sub">{esc(_title(conv, where, d))}</span>'
        '<button type="button" class="close-thread" title="Close">✕</button></div>'
    )
    if conv is None or parent is None:
        return head + '<div class="empty">This thread is gone.</div>'
    replies = [(m, False) for m in state.replies(conv, parent["ts"])]
    replies += [(m, True) for m in _mine(state, where, conv.id) if m.get("thread_ts") == parent["ts"]]
    count = len([r for r in replies if not r[1]])
    rows = [message_html(parent, d, conv.id, in_thread=True)]
    rows.append(f'<div class="replies-divider">{count} repl{"y" if count == 1 else "ies"}</div>')
    rows += [message_html(m, d, conv.id, ephemeral=e, in_thread=True) for m, e in _sorted(replies)]
    return (
        head
        + f'<div class="messages thread-messages" data-parent="{attr(parent["ts"])}">{"".join(rows)}</div>'
    )


def modal_html(state: State, where: Where, d: Directory) -> tuple[str, str]:
    """(key, html) of the modal in front of the viewer; the key changes only when the view does."""
    stack = state.modals.get(where.user) or []
    if not stack:
        return "", ""
    view = stack[-1]
    errors = state.view_errors.get(view["id"]) or {}
    key = f"{view['id']}:{view.get('hash')}:{json.dumps(errors, sort_keys=True)}"
    general = errors.get("")
    banner = f'<div class="bk-error banner" role="alert">{mrkdwn(general, d)}</div>' if general else ""
    body = blocks_html(view.get("blocks"), d, state=(view.get("state") or {}).get("values"), errors=errors)
    submit = text_of(view.get("submit"))
    close = text_of(view.get("close")) or ("Cancel" if submit else "Close")
    submit_btn = f'<button type="submit" class="bk-button primary">{esc(submit)}</button>' if submit else ""
    depth = f'<span class="depth">{len(stack)} of {len(stack)}</span>' if len(stack) > 1 else ""
    return key, (
        f'<div class="modal-backdrop"><form class="modal" data-view-id="{attr(view["id"])}" novalidate>'
        f'<div class="modal-head"><h3>{esc(text_of(view.get("title")))}</h3>{depth}'
        f'<button type="button" class="modal-x" title="Close">✕</button></div>'
        f'<div class="modal-body">{banner}{body}</div><div class="modal-foot">'
        f'<button type="button" class="bk-button modal-close">{esc(close)}</button>{submit_btn}</div></form></div>'
    )


def clock_info(state: State) -> dict[str, Any]:
    clock = state.clock
    advanced = float(getattr(clock, "advanced", 0.0))
    return {
        "now": datetime.fromtimestamp(clock(), UTC).strftime("%a %d %b %H:%M UTC"),
        "offset": describe_offset(advanced),
        "movable": callable(getattr(clock, "advance", None)),
    }


def panes(state: State, where: Where) -> dict[str, Any]:
    with state.lock:
        d = directory(state)
        key, modal = modal_html(state, where, d)
        return {
            "where": {
                "user": where.user,
                "channel": where.channel,
                "thread": where.thread,
                "home": where.home,
            },
            "sidebar": sidebar_html(state, where, d),
            "main": main_html(state, where, d),
            "thread": thread_html(state, where, d),
            "modal": {"key": key, "html": modal},
            "clock": clock_info(state),
            "version": state.version,
        }


def user_options(state: State, where: Where) -> str:
    with state.lock:
        return "".join(
            f'<option value="{attr(u.id)}"{" selected" if u.id == where.user else ""}>'
            f"{esc(u.name)} — {esc(u.real_name or u.name)}</option>"
            for u in state.users.values()
            if not u.is_bot
        )


def boot_json(where: Where) -> str:
    data = {
        "user": where.user,
        "channel": where.channel,
        "thread": where.thread,
        "home": where.home,
        "shortcuts": [{"callback_id": c, "name": n} for c, n in MESSAGE_SHORTCUTS],
        "commands": list(COMMANDS),
    }
    # Inside <script>, "<" must not appear raw, or "</script>" in a value would end the element.
    return json.dumps(data).replace("<", "\\u003c")
