"""`Sandbox`: a Slack workspace in a box, driven by tests the way people use Slack.

    with Sandbox(signing_secret=SECRET, bot_token=TOKEN) as sb:
        sb.request_url = bot_url                     # where the bot listens for Slack
        sb.slash(U_REQ, C_DEV, "start build a thing")
        msg = sb.wait_for_message(C_DEV, button="Approve")
        sb.click(U_APP1, msg, "Approve")
        print(sb.transcript(C_DEV, msg.thread_ts))

The Web API runs on uvicorn in a background thread at `sb.api_url`; give that to the bot as its
Slack API URL. Reads return snapshots; waits block on the state's condition (no sleeping) and fail
with a dump of the recent workspace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sandbox import control, render
from sandbox.acting import Acting
from sandbox.delivery import Deliverer, Delivery
from sandbox.server import ServerThread
from sandbox.snapshots import Message, View
from sandbox.state import BOT_USER_ID, ApiCall, Channel, Clock, State, User, Usergroup, ts_key
from sandbox.webapi import create_app

T = TypeVar("T")

U_REQ, U_APP1, U_APP2, U_OUT = "U_REQ", "U_APP1", "U_APP2", "U_OUT"
C_GENERAL, C_DEV = "C_GENERAL", "C_DEV"
S_APPROVERS = "S_APPROVERS"


class Sandbox(Acting):
    def __init__(
        self,
        *,
        signing_secret: str = "sandbox-signing-secret",
        bot_token: str = "xoxb-sandbox-token",
        request_url: str | None = None,
        clock: Clock = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        trigger_ttl: float = 30.0,
        page_size: int = 15,
        delivery_timeout: float = 10.0,
        seed: bool = True,
    ):
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.state = State(clock=clock, trigger_ttl=trigger_ttl)
        self.state.tokens.add(bot_token)
        self.deliveries: list[Delivery] = []
        self._deliverer = Deliverer(signing_secret, clock, timeout=delivery_timeout)
        self._deliverer.request_url = request_url
        self._server = ServerThread(create_app(self.state, page_size=page_size, control=self), host, port)
        self._started = False
        # Called with the seconds skipped each time the clock is advanced (the web page's control).
        self.clock_listeners: list[Callable[[float], None]] = []
        self.add_user(BOT_USER_ID, "orch", "Orchestrator", is_bot=True)
        if seed:
            self._seed()

    def _seed(self) -> None:
        self.add_user(U_REQ, "riley", "Riley Requester")
        self.add_user(U_APP1, "avery", "Avery Approver")
        self.add_user(U_APP2, "blake", "Blake Approver")
        self.add_user(U_OUT, "oscar", "Oscar Outsider")
        self.add_channel(C_GENERAL, "general")
        self.add_channel(C_DEV, "dev")
        self.add_usergroup(S_APPROVERS, "approvers", [U_APP1, U_APP2], name="Approvers")

    def reset(self, seed: bool = True) -> None:
        """Start over with an empty (or freshly seeded) workspace, keeping the server running.

        Lets a test suite share one server: a module-scoped sandbox plus `reset()` per test.
        """
        with self.state.lock:
            self.state.clear()
            self.deliveries.clear()
            self.add_user(BOT_USER_ID, "orch", "Orchestrator", is_bot=True)
            if seed:
                self._seed()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if not self._started:
            self._server.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._server.stop()
            self._started = False
        self._deliverer.close()

    def serve_forever(self, on_ready: Callable[[Sandbox], None] | None = None) -> None:
        """Serve in the foreground until Ctrl-C (for `python -m sandbox` and `orch sandbox`).

        `on_ready(sandbox)` runs once the port is bound, e.g. to print `sandbox.api_url`.
        """
        self._server.run_foreground(None if on_ready is None else lambda: on_ready(self))

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self._server.port:
            raise RuntimeError("the sandbox is not started; use `with Sandbox() as sb:` or sb.start()")
        return self._server.base_url

    @property
    def api_url(self) -> str:
        """What the bot uses as SLACK_API_URL (slack_sdk's base_url): ends with /api/."""
        return self.base_url + "/api/"

    @property
    def clock(self) -> Clock:
        """Time for ts values, trigger expiry and signature timestamps; swap in a `ManualClock`."""
        return self.state.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.state.clock = clock
        self._deliverer.clock = clock

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock forward (an `OffsetClock` or `ManualClock`), then tell the listeners."""
        advance = getattr(self.state.clock, "advance", None)
        if advance is None:
            raise TypeError(
                "this sandbox runs on the real clock; start it with clock=OffsetClock() to move time"
            )
        advance(seconds)
        self.state.changed()
        for listener in list(self.clock_listeners):
            listener(seconds)
        return self.state.clock()

    @property
    def request_url(self) -> str | None:
        return self._deliverer.request_url

    @request_url.setter
    def request_url(self, url: str | None) -> None:
        self._deliverer.request_url = url

    # -- setting up the workspace ----------------------------------------------------------------

    def add_user(self, user_id: str, name: str, real_name: str = "", *, is_bot: bool = False) -> None:
        with self.state.lock:
            self.state.users[user_id] = User(user_id, name, real_name, is_bot)
            self.state.changed()

    def add_channel(self, channel_id: str, name: str, members: list[str] | None = None) -> None:
        """A public channel; everyone (and the bot) is a member unless `members` says otherwise."""
        with self.state.lock:
            people = set(members) if members is not None else set(self.state.users)
            self.state.channels[channel_id] = Channel(channel_id, name, people | {BOT_USER_ID})
            self.state.changed()

    def add_usergroup(self, group_id: str, handle: str, users: list[str], *, name: str = "") -> None:
        with self.state.lock:
            self.state.usergroups[group_id] = Usergroup(group_id, handle, name or handle, list(users))
            self.state.changed()

    # -- knobs -----------------------------------------------------------------------------------

    def ratelimit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls to `method` answer HTTP 429 with `Retry-After: retry_after`."""
        with self.state.lock:
            self.state.rate_limits[method] = (times, retry_after)

    def outage(self, kind: str | None, retry_after: int = 30) -> None:
        """Every Web API call fails until `outage(None)`: `http500` (an HTML error page),
        `internal_error` or `fatal_error` (HTTP 200 with `ok:false`), or `ratelimited` (429)."""
        if kind not in (None, "http500", "internal_error", "fatal_error", "ratelimited"):
            raise ValueError(f"unknown outage {kind!r}")
        with self.state.lock:
            self.state.outage = None if kind is None else (kind, retry_after)

    def answer_late(self, method: str, times: int = 1, text_contains: str | None = None) -> None:
        """The next `times` calls to `method` (whose `text` holds `text_contains`, if given) are
        carried out, but answered only after `release_late()` (or a minute): the caller times out
        although its call took effect."""
        with self.state.lock:
            self.state.late_release.clear()
            self.state.late[method] = (times, text_contains)

    def release_late(self) -> None:
        with self.state.lock:
            self.state.late.clear()
            self.state.late_release.set()

    def archive(self, channel: str, archived: bool = True) -> None:
        with self.state.lock:
            self.state.channel(self._cid(channel)).archived = archived
            self.state.changed()

    def kick_bot(self, channel: str) -> None:
        """Remove the bot from a channel: its posts there now fail with `not_in_channel`."""
        with self.state.lock:
            self.state.channel(self._cid(channel)).members.discard(BOT_USER_ID)
            self.state.changed()

    def invite_bot(self, channel: str) -> None:
        with self.state.lock:
            self.state.channel(self._cid(channel)).members.add(BOT_USER_ID)
            self.state.changed()

    def trigger(self, user: str) -> str:
        """A fresh trigger_id for `user`, as if they had just clicked; for calling views.open directly."""
        return self.state.issue_trigger(self._uid(user))

    # -- reading ---------------------------------------------------------------------------------

    def dm_id(self, user: str) -> str:
        with self.state.lock:
            return self.state.dm(self._uid(user)).id

    def messages(self, channel: str) -> list[Message]:
        """What the channel shows, oldest first: top-level messages and broadcast replies."""
        with self.state.lock:
            conv = self.state.channel(self._cid(channel))
            return [Message.of(conv.id, m) for m in self.state.top_level(conv)]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The thread's parent followed by its replies."""
        with self.state.lock:
            conv = self.state.channel(self._cid(channel))
            parent = conv.find(thread_ts)
            if parent is None:
                return []
            return [Message.of(conv.id, m) for m in [parent, *self.state.replies(conv, thread_ts)]]

    def message(self, channel: str, ts: str) -> Message:
        with self.state.lock:
            conv = self.state.channel(self._cid(channel))
            raw = conv.find(ts)
            if raw is None:
                raise AssertionError(f"no message {ts} in {conv.id}")
            return Message.of(conv.id, raw)

    def dms(self, user: str) -> list[Message]:
        """Everything in the bot's DM with `user`, oldest first, replies included."""
        with self.state.lock:
            conv = self.state.dm(self._uid(user))
            return [Message.of(conv.id, m) for m in conv.messages]

    def ephemerals(self, user: str, channel: str | None = None) -> list[Message]:
        with self.state.lock:
            uid = self._uid(user)
            cid = self._cid(channel) if channel else None
            return [
                Message.of(e.channel, e.message, ephemeral_to=uid)
                for e in self.state.ephemerals
                if e.user == uid and (cid is None or e.channel == cid)
            ]

    def find_message(
        self,
        channel: str,
        thread_ts: str | None = None,
        *,
        button: str | None = None,
        text_contains: str | None = None,
        user: str | None = None,
        after: str | Message | None = None,
    ) -> Message | None:
        """The newest message (in the thread, if given; else anywhere in the channel) that matches."""
        with self.state.lock:
            conv = self.state.channel(self._cid(channel))
            pool = conv.messages if thread_ts is None else [m.raw for m in self.thread(conv.id, thread_ts)]
            found = [Message.of(conv.id, m) for m in pool]
            return self._newest(found, button, text_contains, user, after)

    def buttons(self, target: Message | View) -> list[str]:
        return target.buttons

    def open_view(self, user: str) -> View | None:
        """The modal in front of `user` (the top of their stack), or None."""
        with self.state.lock:
            uid = self._uid(user)
            stack = self.state.modals.get(uid)
            if not stack:
                return None
            return View.of(uid, stack[-1], self.state.view_errors.get(stack[-1]["id"]))

    def views(self, user: str) -> list[View]:
        with self.state.lock:
            uid = self._uid(user)
            return [
                View.of(uid, v, self.state.view_errors.get(v["id"])) for v in self.state.modals.get(uid, [])
            ]

    def home(self, user: str) -> View | None:
        with self.state.lock:
            uid = self._uid(user)
            raw = self.state.homes.get(uid)
            return None if raw is None else View.of(uid, raw, None)

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """The Web API calls received so far (all, or one method's), oldest first."""
        with self.state.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def transcript(self, channel: str, thread_ts: str | None = None, viewer: str | None = None) -> str:
        """What a person sees in a channel or thread, as text; `viewer` adds their ephemerals."""
        with self.state.lock:
            conv = self.state.channel(self._cid(channel))
            title = f"DM with {self._name(conv.im_user or '')}" if conv.is_im else f"#{conv.name}"
            if thread_ts:
                raw = [m.raw for m in self.thread(conv.id, thread_ts)]
                title = f"thread {thread_ts} in {title}"
            else:
                raw = self.state.top_level(conv)
            mine = []
            if viewer:
                mine = [
                    m.raw
                    for m in self.ephemerals(viewer, conv.id)
                    if thread_ts is None or m.thread_ts == thread_ts
                ]
            return render.conversation(title, raw, self._name, thread=bool(thread_ts), ephemerals=mine)

    # -- waiting ---------------------------------------------------------------------------------

    def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 10.0, what: str | None = None
    ) -> T:
        """Block until `predicate()` is truthy and return its value; re-checked on every state change.

        The predicate runs under the state lock: it may read the sandbox, but must not make HTTP calls.
        """
        deadline = time.monotonic() + timeout
        with self.state.cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    label = what or getattr(predicate, "__name__", "a condition")
                    raise AssertionError(f"timed out after {timeout:g}s waiting for {label}\n{self.dump()}")
                self.state.cond.wait(remaining)

    def wait_for_message(
        self,
        channel: str,
        thread_ts: str | None = None,
        *,
        text_contains: str | None = None,
        button: str | None = None,
        user: str | None = None,
        after: str | Message | None = None,
        timeout: float = 10.0,
    ) -> Message:
        what = f"a message in {channel}" + (f" thread {thread_ts}" if thread_ts else "")
        what += "".join(f" {k}={v!r}" for k, v in (("text_contains", text_contains), ("button", button)) if v)
        return self.wait_for(
            lambda: self.find_message(
                channel, thread_ts, button=button, text_contains=text_contains, user=user, after=after
            ),
            timeout,
            what,
        )

    def wait_for_ephemeral(
        self,
        user: str,
        channel: str | None = None,
        *,
        text_contains: str | None = None,
        button: str | None = None,
        after: str | Message | None = None,
        timeout: float = 10.0,
    ) -> Message:
        return self.wait_for(
            lambda: self._newest(self.ephemerals(user, channel), button, text_contains, None, after),
            timeout,
            f"an ephemeral for {user} text_contains={text_contains!r} button={button!r}",
        )

    def wait_for_view(self, user: str, callback_id: str | None = None, timeout: float = 10.0) -> View:
        def front() -> View | None:
            view = self.open_view(user)
            return view if view and (callback_id is None or view.callback_id == callback_id) else None

        return self.wait_for(front, timeout, f"a modal for {user} callback_id={callback_id!r}")

    def dump(self, messages: int = 8, calls: int = 6) -> str:
        """A short picture of the recent workspace, for failure messages."""
        with self.state.lock:
            return render.dump(self.state, self.deliveries, self._name, messages=messages, calls=calls)

    # -- plumbing shared with Acting -----------------------------------------------------------

    def _record(self, delivery: Delivery) -> Delivery:
        with self.state.lock:
            self.deliveries.append(delivery)
            self.state.changed()
        return delivery

    def _name(self, user_id: str) -> str:
        user = self.state.users.get(user_id)
        return user.name if user else user_id

    def _uid(self, user: str) -> str:
        """A user id from an id, a name or an @name."""
        with self.state.lock:
            if user in self.state.users:
                return user
            name = user.removeprefix("@")
            for u in self.state.users.values():
                if u.name == name:
                    return u.id
            raise AssertionError(f"no user {user!r}; known: {sorted(self.state.users)}")

    def _cid(self, channel: str) -> str:
        """A channel id from an id, a #name or a name."""
        with self.state.lock:
            if channel in self.state.channels:
                return channel
            name = channel.removeprefix("#")
            for c in self.state.channels.values():
                if c.name == name and not c.is_im:
                    return c.id
            raise AssertionError(f"no channel {channel!r}; known: {sorted(self.state.channels)}")

    def _conversation(self, user_id: str, channel: str) -> Channel:
        """Where a person acts: a channel, or their DM with the bot when `channel` names the bot."""
        if channel in (BOT_USER_ID, "@" + self._name(BOT_USER_ID), self._name(BOT_USER_ID)):
            return self.state.dm(user_id)
        return self.state.channel(self._cid(channel))

    @staticmethod
    def _newest(
        found: list[Message],
        button: str | None,
        text_contains: str | None,
        user: str | None,
        after: str | Message | None,
    ) -> Message | None:
        since = ts_key(after.ts if isinstance(after, Message) else after) if after else None
        for msg in reversed(found):
            if button is not None and button not in msg.buttons:
                continue
            if text_contains is not None and text_contains not in msg.content:
                continue
            if user is not None and msg.user != user:
                continue
            if since is not None and ts_key(msg.ts) <= since:
                continue
            return msg
        return None

    # -- control API (for a web page or another process) ---------------------------------------

    def control(self, action: str, params: dict[str, Any]) -> Any:
        """Run a person's action from JSON; used by `POST /_sandbox/<action>`."""
        return control.run(self, action, params)
