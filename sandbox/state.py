"""The sandbox workspace's state: users, channels, messages, triggers, files and the call log.

Everything lives behind one re-entrant lock. The Web API runs on uvicorn's thread while a test
drives from its own, so every read and write takes the lock and every write ends with
`changed()`, which wakes whoever waits in `Sandbox.wait_for` so it can look again. Messages are
kept in the shape Slack's API returns them, so the Web API can hand them out as they are.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

Clock = Callable[[], float]

TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Sandbox"
TEAM_DOMAIN = "sandbox"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0SANDBOX"
SLACKBOT_ID = "USLACKBOT"


class ApiError(Exception):
    """A Slack-style failure; the Web API turns it into `{"ok": false, "error": ..., **extra}`."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


class ManualClock:
    """A clock a test moves by hand: trigger expiry and stale signatures without sleeping."""

    def __init__(self, start: float | None = None):
        self._now = time.time() if start is None else float(start)

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def ts_key(ts: str) -> Decimal:
    """Orders Slack timestamps exactly; floats lose the last microsecond digits at today's epoch."""
    try:
        return Decimal(ts)
    except (InvalidOperation, TypeError):
        return Decimal(-1)


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        real_name = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": "UTC",
            "profile": {"real_name": real_name, "display_name": self.name, "team": TEAM_ID},
        }


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    users: list[str]

    def to_api(self, include_users: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "team_id": TEAM_ID, "handle": self.handle, "name": self.name}
        data["user_count"] = len(self.users)
        if include_users:
            data["users"] = list(self.users)
        return data


@dataclass
class Channel:
    id: str
    name: str
    members: set[str]
    is_im: bool = False
    im_user: str | None = None
    archived: bool = False
    # Every message including thread replies, in ts order (ts only grows, so appending keeps it).
    messages: list[dict[str, Any]] = field(default_factory=list)

    def find(self, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)

    def to_api(self) -> dict[str, Any]:
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.im_user, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_private": False,
            "is_archived": self.archived,
            "is_member": BOT_USER_ID in self.members,
            "num_members": len(self.members),
        }


@dataclass
class Ephemeral:
    channel: str
    user: str
    message: dict[str, Any]


@dataclass
class Trigger:
    id: str
    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseTarget:
    """Where a response_url posts: the delivery's user and channel, and the message it came from."""

    token: str
    user: str
    channel: str | None
    thread_ts: str | None = None
    message_ts: str | None = None
    ephemeral: bool = False
    uses: int = 0


@dataclass
class StoredFile:
    id: str
    name: str
    length: int
    title: str | None = None
    alt_txt: str | None = None
    data: bytes | None = None
    created: int = 0


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


class State:
    def __init__(self, clock: Clock = time.time, trigger_ttl: float = 30.0):
        self.clock = clock
        self.trigger_ttl = trigger_ttl
        self.streaming = True  # chat.*Stream answered; False: `unknown_method`, like a workspace without them
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.version = 0
        self.tokens: set[str] = set()
        self._last_us = 0
        self._counter = itertools.count(1)
        self.clear()

    def clear(self) -> None:
        """Forget the workspace (not the tokens, the clock or the id counter), for reuse between tests."""
        with self.lock:
            self._clear()
        self.changed()

    def _clear(self) -> None:
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[Ephemeral] = []
        # Per user: the modal stack (root first), and the published Home tab.
        self.modals: dict[str, list[dict[str, Any]]] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        # Per view id: the errors of the last `response_action: errors` answer.
        self.view_errors: dict[str, dict[str, str]] = {}
        self.triggers: dict[str, Trigger] = {}
        self.responses: dict[str, ResponseTarget] = {}
        self.files: dict[str, StoredFile] = {}
        self.calls: list[ApiCall] = []
        self.rate_limits: dict[str, tuple[int, int]] = {}
        # An outage of the whole Web API (see `Workspace.outage`): its kind and Retry-After, or None.
        self.outage: tuple[str, int] | None = None
        # Per method: how many of its next calls (whose `text` holds a string, if given) are
        # carried out but answered only once released.
        self.late: dict[str, tuple[int, str | None]] = {}
        self.late_release = threading.Event()

    # -- bookkeeping ---------------------------------------------------------------------------

    def changed(self) -> None:
        with self.cond:
            self.version += 1
            self.cond.notify_all()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08X}"

    def next_ts(self) -> str:
        with self.lock:
            us = max(int(self.clock() * 1_000_000), self._last_us + 1)
            self._last_us = us
            return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    # -- people and places ---------------------------------------------------------------------

    def user(self, user_id: str) -> User:
        if user_id not in self.users:
            raise ApiError("user_not_found")
        return self.users[user_id]

    def channel(self, channel_id: str) -> Channel:
        if channel_id.startswith("#"):
            channel_id = next((c.id for c in self.channels.values() if c.name == channel_id[1:]), channel_id)
        if channel_id not in self.channels:
            raise ApiError("channel_not_found")
        return self.channels[channel_id]

    def dm(self, user_id: str) -> Channel:
        """The bot's DM with a user; like Slack, its id is stable and it exists once asked for."""
        self.user(user_id)
        channel_id = "D" + (user_id[1:] if user_id.startswith("U") else user_id)
        if channel_id not in self.channels:
            self.channels[channel_id] = Channel(
                id=channel_id, name=channel_id, members={user_id, BOT_USER_ID}, is_im=True, im_user=user_id
            )
            self.changed()
        return self.channels[channel_id]

    # -- messages ------------------------------------------------------------------------------

    def post(
        self,
        channel: Channel,
        message: dict[str, Any],
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> dict[str, Any]:
        """Store a message (a reply when thread_ts is given) and keep the parent's thread counters."""
        with self.lock:
            parent = None
            if thread_ts:
                parent = self.thread_parent(channel, thread_ts)
            msg = {"type": "message", **message, "ts": self.next_ts(), "team": TEAM_ID}
            if parent is not None:
                msg["thread_ts"] = parent["ts"]
                msg["parent_user_id"] = parent.get("user")
                if broadcast:
                    msg["subtype"] = "thread_broadcast"
                replies = parent.setdefault("reply_users", [])
                if msg.get("user") and msg["user"] not in replies:
                    replies.append(msg["user"])
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["reply_users_count"] = len(replies)
                parent["latest_reply"] = msg["ts"]
            channel.messages.append(msg)
            self.changed()
            return msg

    def thread_parent(self, channel: Channel, ts: str) -> dict[str, Any]:
        """The thread's parent for a parent's or a reply's ts (Slack accepts either)."""
        msg = channel.find(ts)
        if msg is None:
            raise ApiError("thread_not_found")
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            parent = channel.find(msg["thread_ts"])
            if parent is not None:
                return parent
        return msg

    def replies(self, channel: Channel, parent_ts: str) -> list[dict[str, Any]]:
        return [m for m in channel.messages if m.get("thread_ts") == parent_ts and m["ts"] != parent_ts]

    def top_level(self, channel: Channel) -> list[dict[str, Any]]:
        """What the channel shows: parents and plain messages, plus replies sent to the channel."""
        return [
            m
            for m in channel.messages
            if not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m.get("subtype") == "thread_broadcast"
        ]

    def delete(self, channel: Channel, ts: str) -> None:
        with self.lock:
            msg = channel.find(ts)
            if msg is None:
                raise ApiError("message_not_found")
            if msg.get("reply_count"):
                # Slack keeps a deleted parent as a tombstone so its thread stays reachable.
                for key in ("blocks", "files", "attachments", "reactions", "bot_id", "app_id"):
                    msg.pop(key, None)
                msg.update(subtype="tombstone", text="This message was deleted.", user=SLACKBOT_ID)
            else:
                channel.messages.remove(msg)
                parent_ts = msg.get("thread_ts")
                if parent_ts and parent_ts != ts and (parent := channel.find(parent_ts)) is not None:
                    left = self.replies(channel, parent_ts)
                    parent["reply_count"] = len(left)
                    parent["latest_reply"] = left[-1]["ts"] if left else parent["ts"]
            self.changed()

    def add_ephemeral(
        self, channel: Channel, user_id: str, message: dict[str, Any], thread_ts: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            msg = {"type": "message", **message, "ts": self.next_ts()}
            if thread_ts:
                msg["thread_ts"] = thread_ts
            self.ephemerals.append(Ephemeral(channel=channel.id, user=user_id, message=msg))
            self.changed()
            return msg

    def find_ephemeral(self, channel_id: str, user_id: str, ts: str) -> Ephemeral | None:
        return next(
            (
                e
                for e in self.ephemerals
                if e.channel == channel_id and e.user == user_id and e.message["ts"] == ts
            ),
            None,
        )

    # -- triggers and response URLs --------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        with self.lock:
            now = self.clock()
            trigger_id = f"{int(now)}.{self.new_id('')}.sandbox"
            self.triggers[trigger_id] = Trigger(id=trigger_id, user=user_id, issued_at=now)
            return trigger_id

    def use_trigger(self, trigger_id: str | None) -> Trigger:
        """Exchange a trigger once, within its lifetime, as Slack does for views.open/push."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self.clock() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger

    def issue_response_url(self, base_url: str, target: ResponseTarget) -> str:
        with self.lock:
            self.responses[target.token] = target
        return f"{base_url}/response/{target.token}"

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of what a person could see, for the control API and failure dumps."""
        with self.lock:
            return copy.deepcopy(
                {
                    "team_id": TEAM_ID,
                    "users": [u.to_api() for u in self.users.values()],
                    "channels": [{**c.to_api(), "messages": c.messages} for c in self.channels.values()],
                    "ephemerals": [
                        {"channel": e.channel, "user": e.user, "message": e.message} for e in self.ephemerals
                    ],
                    "modals": self.modals,
                    "homes": self.homes,
                    "view_errors": self.view_errors,
                }
            )
