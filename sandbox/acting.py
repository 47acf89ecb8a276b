"""What people do in Slack, as deliveries to the bot: commands, posts, clicks, modals, shortcuts.

Each action changes the workspace under the lock, builds Slack's payload, releases the lock,
and only then makes the HTTP request, because the bot usually calls back into the Web API
before it answers. What Slack does with the answer (an ephemeral, a closed modal, errors shown
on a modal) is applied afterwards and named in `Delivery.outcome`.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from sandbox import modals, payloads
from sandbox.blocks import button_labels, find_button, text_of
from sandbox.delivery import Deliverer, Delivery, Tamper
from sandbox.inputs import state_values
from sandbox.replies import apply_slash_reply, apply_view_reply
from sandbox.snapshots import Message, View
from sandbox.state import BOT_USER_ID, ApiError, Channel, ResponseTarget, State

RETRY_NUM = "X-Slack-Retry-Num"
RETRY_REASON = "X-Slack-Retry-Reason"


class Acting:
    """Mixed into `Sandbox`; it supplies the state, the deliverer and name resolution."""

    state: State
    _deliverer: Deliverer

    @property
    def base_url(self) -> str:  # pragma: no cover - provided by Sandbox
        raise NotImplementedError

    def _uid(self, user: str) -> str:  # pragma: no cover - provided by Sandbox
        raise NotImplementedError

    def _conversation(self, user_id: str, channel: str) -> Channel:  # pragma: no cover
        raise NotImplementedError

    def _record(self, delivery: Delivery) -> Delivery:  # pragma: no cover
        raise NotImplementedError

    def _response_url(
        self, user_id: str, channel: Channel, message: dict[str, Any] | None = None, ephemeral: bool = False
    ) -> tuple[str, ResponseTarget]:
        message = message or {}
        is_reply = message.get("thread_ts") not in (None, message.get("ts"))
        target = ResponseTarget(
            token=uuid.uuid4().hex,
            user=user_id,
            channel=channel.id,
            thread_ts=message.get("thread_ts") if is_reply else None,
            message_ts=message.get("ts"),
            ephemeral=ephemeral,
        )
        return self.state.issue_response_url(self.base_url, target), target

    # -- commands and messages -------------------------------------------------------------------

    def slash(
        self, user: str, channel: str, text: str = "", command: str = "/orch", *, tamper: Tamper | None = None
    ) -> Delivery:
        """Type `/command text` in a channel; the bot's HTTP answer is shown like Slack shows it."""
        uid = self._uid(user)
        with self.state.lock:
            conv = self._conversation(uid, channel)
            trigger_id = self.state.issue_trigger(uid)
            response_url, target = self._response_url(uid, conv)
            fields = payloads.slash_command(self.state, uid, conv, command, text, trigger_id, response_url)
        delivery = self._deliverer.form("slash_command", fields, tamper=tamper)
        delivery.trigger_id, delivery.response_url = trigger_id, response_url
        delivery.outcome = apply_slash_reply(self.state, target, delivery.status, delivery.body, command)
        return self._record(delivery)

    def post(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        tamper: Tamper | None = None,
    ) -> Message:
        """A person posts. Mentioning the bot emits `app_mention`; writing in its DM, `message.im`;
        replying in a thread of a channel the bot is in, `message.channels`.

        `channel` may be a channel id or name, a DM id, or the bot itself ("UBOT", "@orch") for
        the person's DM with the bot. The returned message's `.delivery` holds the event delivery.
        """
        uid = self._uid(user)
        with self.state.lock:
            conv = self._conversation(uid, channel)
            if conv.archived:
                raise AssertionError(f"#{conv.name} is archived; nobody can post there")
            if conv.is_im and conv.im_user != uid:
                raise AssertionError(f"{uid} cannot post in another person's DM with the bot")
            conv.members.add(uid)
            try:
                stored = self.state.post(
                    conv, {"user": uid, "text": text, "client_msg_id": str(uuid.uuid4())}, thread_ts=thread_ts
                )
            except ApiError as exc:
                raise AssertionError(f"cannot post in thread {thread_ts}: {exc.error}") from None
            message = Message.of(conv.id, stored)
            kind = None
            if conv.is_im:
                kind = "message"
            elif f"<@{BOT_USER_ID}>" in text and BOT_USER_ID in conv.members:
                kind = "app_mention"
            elif thread_ts and BOT_USER_ID in conv.members:
                # `message.channels`: Slack sends every message of a channel the bot is in; the
                # sandbox sends the thread replies, the only channel messages the bot listens to.
                kind = "message"
            body = None
            if kind:
                event = payloads.user_message_event(kind, conv, stored)
                body = payloads.envelope(self.state, event, self.state.new_id("Ev"))
        if body is not None:
            message.delivery = self._record(self._deliverer.event(body, tamper=tamper))
        return message

    def mention(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        tamper: Tamper | None = None,
    ) -> Message:
        """Post `<@UBOT> text` (unless the text already mentions the bot)."""
        mention = f"<@{BOT_USER_ID}>"
        return self.post(
            user, channel, text if mention in text else f"{mention} {text}", thread_ts, tamper=tamper
        )

    # -- clicks and modals ------------------------------------------------------------------------

    def click(
        self,
        user: str,
        target: Message | View,
        label: str | None = None,
        *,
        action_id: str | None = None,
        values: dict[str, Any] | None = None,
        tamper: Tamper | None = None,
    ) -> Delivery:
        """Click a button (by its label or action_id) on a message, an ephemeral, a modal or a Home tab.

        The current version of the message or view is used, as a person would see it now.
        `values` fills a modal's inputs first, for buttons inside modals.
        """
        if label is None and action_id is None:
            raise ValueError("click needs a button label or an action_id")
        uid = self._uid(user)
        with self.state.lock:
            if isinstance(target, View):
                view = self._live_view(uid, target)
                block, element = self._button(view.get("blocks"), label, action_id, f"view {target.title!r}")
                sent_view = copy.deepcopy(view)
                if values:
                    sent_view["state"] = {"values": state_values(view["blocks"], values, require=False)}
                trigger_id, response_url = self.state.issue_trigger(uid), None
                action = payloads.button_action(block, element, self.state.next_ts())
                payload = payloads.view_actions(self.state, uid, sent_view, action, trigger_id)
            else:
                conv, raw = self._live_message(uid, target)
                block, element = self._button(raw.get("blocks"), label, action_id, f"message {target.ts}")
                trigger_id = self.state.issue_trigger(uid)
                ephemeral = target.ephemeral_to is not None
                response_url, _ = self._response_url(uid, conv, raw, ephemeral)
                action = payloads.button_action(block, element, self.state.next_ts())
                payload = payloads.message_actions(
                    self.state,
                    uid,
                    conv,
                    copy.deepcopy(raw),
                    action,
                    ephemeral=ephemeral,
                    trigger_id=trigger_id,
                    response_url=response_url,
                )
        delivery = self._deliverer.interaction("block_actions", payload, tamper=tamper)
        delivery.trigger_id, delivery.response_url = trigger_id, response_url
        return self._record(delivery)

    def submit_view(
        self, user: str, values: dict[str, Any] | None = None, *, tamper: Tamper | None = None
    ) -> Delivery:
        """Fill in the top modal (by label, block_id or action_id) and press its submit button."""
        uid = self._uid(user)
        with self.state.lock:
            stack = self.state.modals.get(uid)
            if not stack:
                raise AssertionError(f"{uid} has no modal open")
            live = stack[-1]
            if not live.get("submit"):
                raise AssertionError(f"modal {text_of(live.get('title'))!r} has no submit button")
            live["state"] = {"values": state_values(live["blocks"], values)}
            self.state.view_errors.pop(live["id"], None)
            self.state.changed()
            trigger_id = self.state.issue_trigger(uid)
            payload = payloads.view_submission(self.state, uid, copy.deepcopy(live), trigger_id)
        delivery = self._deliverer.interaction("view_submission", payload, tamper=tamper)
        delivery.trigger_id = trigger_id
        delivery.outcome = apply_view_reply(self.state, uid, live["id"], delivery.status, delivery.body)
        return self._record(delivery)

    def close_view(self, user: str, *, tamper: Tamper | None = None) -> Delivery | None:
        """Press the modal's close button; `view_closed` is delivered only if the view asked for it."""
        uid = self._uid(user)
        with self.state.lock:
            stack = self.state.modals.get(uid)
            if not stack:
                raise AssertionError(f"{uid} has no modal open")
            top = copy.deepcopy(stack[-1])
            cleared = bool(top.get("clear_on_close"))
            if cleared:
                modals.clear(self.state, uid)
            else:
                modals.close_top(self.state, uid)
            if not top.get("notify_on_close"):
                return None
            payload = payloads.view_closed(self.state, uid, top, cleared)
        return self._record(self._deliverer.interaction("view_closed", payload, tamper=tamper))

    # -- shortcuts, Home, raw events ---------------------------------------------------------------

    def shortcut(
        self, user: str, channel: str, message_ts: str, callback_id: str, *, tamper: Tamper | None = None
    ) -> Delivery:
        """Run a message shortcut ("More actions" on a message)."""
        uid = self._uid(user)
        with self.state.lock:
            conv = self._conversation(uid, channel)
            raw = conv.find(message_ts)
            if raw is None:
                raise AssertionError(f"no message {message_ts} in {conv.id}")
            trigger_id = self.state.issue_trigger(uid)
            response_url, _ = self._response_url(uid, conv, raw)
            payload = payloads.message_shortcut(
                self.state, uid, conv, copy.deepcopy(raw), callback_id, trigger_id, response_url
            )
        delivery = self._deliverer.interaction("message_action", payload, tamper=tamper)
        delivery.trigger_id, delivery.response_url = trigger_id, response_url
        return self._record(delivery)

    def global_shortcut(self, user: str, callback_id: str, *, tamper: Tamper | None = None) -> Delivery:
        uid = self._uid(user)
        with self.state.lock:
            trigger_id = self.state.issue_trigger(uid)
            payload = payloads.global_shortcut(self.state, uid, callback_id, trigger_id)
        delivery = self._deliverer.interaction("shortcut", payload, tamper=tamper)
        delivery.trigger_id = trigger_id
        return self._record(delivery)

    def open_home(self, user: str, *, tamper: Tamper | None = None) -> Delivery:
        """Open the app's Home tab: emits `app_home_opened` (with the published view, if any)."""
        uid = self._uid(user)
        with self.state.lock:
            event: dict[str, Any] = {
                "type": "app_home_opened",
                "user": uid,
                "channel": self.state.dm(uid).id,
                "tab": "home",
                "event_ts": self.state.next_ts(),
            }
            if uid in self.state.homes:
                event["view"] = copy.deepcopy(self.state.homes[uid])
        return self.send_event(event, tamper=tamper)

    def send_event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        tamper: Tamper | None = None,
    ) -> Delivery:
        """Deliver any Events API event, wrapped in Slack's envelope; retries carry Slack's headers."""
        with self.state.lock:
            event = {"event_ts": self.state.next_ts(), **event}
            body = payloads.envelope(self.state, event, event_id or self.state.new_id("Ev"))
        headers = {}
        if retry_num is not None:
            headers[RETRY_NUM] = str(retry_num)
            headers[RETRY_REASON] = retry_reason or "http_timeout"
        return self._record(self._deliverer.event(body, tamper=tamper, headers=headers))

    def url_verification(self, *, tamper: Tamper | None = None) -> Delivery:
        """Slack's check when a request URL is saved; outcome "verified" if the challenge is echoed."""
        challenge = uuid.uuid4().hex
        body = {"token": payloads.VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        delivery = self._deliverer.event(body, tamper=tamper)
        delivery.kind = "url_verification"
        answer = delivery.json
        echoed = (answer.get("challenge") if isinstance(answer, dict) else delivery.body) == challenge
        delivery.outcome = "verified" if delivery.ok and echoed else "failed"
        return self._record(delivery)

    def redeliver(
        self, delivery: Delivery, retry_reason: str = "http_timeout", *, tamper: Tamper | None = None
    ) -> Delivery:
        """Send an earlier request again, freshly signed, as Slack's retry number n+1."""
        previous = int(delivery.request_headers.get(RETRY_NUM, "0"))
        headers = {RETRY_NUM: str(previous + 1), RETRY_REASON: retry_reason}
        content_type = delivery.request_headers["Content-Type"]
        again = self._deliverer.send(
            delivery.kind, delivery.request_body, content_type, tamper=tamper, headers=headers
        )
        again.event_id = delivery.event_id
        return self._record(again)

    def deliver_raw(
        self,
        body: bytes | str,
        content_type: str = "application/json",
        *,
        tamper: Tamper | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Send any body, signed (or broken by `tamper`); for the bot's request-verification tests."""
        data = body.encode() if isinstance(body, str) else body
        return self._record(self._deliverer.send("raw", data, content_type, tamper=tamper, headers=headers))

    # -- lookups ----------------------------------------------------------------------------------

    def _live_message(self, uid: str, target: Message) -> tuple[Channel, dict[str, Any]]:
        conv = self.state.channel(target.channel)
        if target.ephemeral_to is not None:
            if target.ephemeral_to != uid:
                raise AssertionError(f"{uid} cannot see an ephemeral message meant for {target.ephemeral_to}")
            found = self.state.find_ephemeral(conv.id, uid, target.ts)
            if found is None:
                raise AssertionError(f"the ephemeral message {target.ts} is gone")
            return conv, found.message
        if conv.is_im and conv.im_user != uid:
            raise AssertionError(f"{uid} cannot see the bot's DM with {conv.im_user}")
        raw = conv.find(target.ts)
        if raw is None:
            raise AssertionError(f"message {target.ts} in {conv.id} no longer exists")
        return conv, raw

    def _live_view(self, uid: str, target: View) -> dict[str, Any]:
        home = self.state.homes.get(uid)
        if home is not None and home["id"] == target.id:
            return home
        stack = self.state.modals.get(uid) or []
        if not stack or stack[-1]["id"] != target.id:
            raise AssertionError(f"view {target.id} is not the modal {uid} has in front")
        return stack[-1]

    @staticmethod
    def _button(blocks: Any, label: str | None, action_id: str | None, where: str) -> tuple[dict, dict]:
        found = find_button(blocks, label, action_id)
        if found is None:
            labels = button_labels(blocks)
            raise AssertionError(f"no button {label or action_id!r} on {where}; its buttons are {labels}")
        return found
