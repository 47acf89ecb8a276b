"""Answer Slack the moment a listener calls `ack()`.

Bolt's `AsyncApp` (with the default `process_before_response=False`) starts the listener as a task
and then polls `ack.response` every 10 ms, so every request waits at least one 10 ms tick even
when the listener acks in the first microsecond (the bench measured ~12 ms p50 for a bare app).
This runner keeps Bolt's semantics (the listener keeps running after the answer; errors before
`ack()` become a 500; no `ack()` within `ack_timeout` is logged and answered with nothing) but wakes
on an `asyncio.Event` set by `ack()` itself, or on the listener finishing, whichever comes first.
Lazy listeners and `process_before_response=True` are left to Bolt's own runner.

Roles, when a web process and a worker process run apart (`orch serve --role web`, `orch worker`):
- `web`: the listener runs up to its `ack()` (so a validation error or help text still comes back
  in the answer) and stops there; the verified request is appended to the inbox and only then is
  the answer returned. Requests that need Slack's trigger_id after the ack (they open a modal; a
  trigger lives 3 seconds) run whole in the web process.
- `worker`: a request read back from the inbox runs its listener to the end; the answer is gone.
- `all` (one process): as described above.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.intake import clean_raw_body

if TYPE_CHECKING:
    from bot.observability.storage_health import Health
    from storage.inbox import Inbox

Role = Literal["all", "web", "worker"]
log = logging.getLogger(__name__)


class SignallingAck(AsyncAck):
    """`ack()` that also sets an event, so the runner need not poll for it."""

    def __init__(self, acked: asyncio.Event, *, stop_after: bool = False) -> None:
        super().__init__()
        self.acked = acked
        self.stop_after = stop_after

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            response = await super().__call__(*args, **kwargs)
        finally:
            self.acked.set()
        if self.stop_after:
            # A web process: the rest of the listener runs in the worker. Park here until the
            # runner cancels the task, so nothing after `ack()` runs in this process.
            await asyncio.get_running_loop().create_future()
        return response


class PromptAckRunner(AsyncioListenerRunner):
    def __init__(
        self,
        *args: Any,
        role: Role = "all",
        inbox: Inbox | None = None,
        runs_in_web: Callable[[dict[str, Any]], bool] | None = None,
        ordering_key: Callable[[dict[str, Any]], str | None] | None = None,
        health: Health | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.health = health  # told when the inbox cannot be written (and when it can again)
        # Listener tasks outlive the request; keep references so they are not garbage-collected.
        self._tasks: set[asyncio.Future[Any]] = set()
        self.role: Role = role
        self.inbox = inbox
        self.runs_in_web = runs_in_web or (lambda _body: False)
        self.ordering_key = ordering_key or (lambda _body: None)  # a goal's requests run in order
        if role == "web" and inbox is None:
            raise ValueError("a web process needs an inbox to leave requests to the worker")

    @classmethod
    def replacing(
        cls,
        runner: AsyncioListenerRunner,
        *,
        role: Role = "all",
        inbox: Inbox | None = None,
        runs_in_web: Callable[[dict[str, Any]], bool] | None = None,
        ordering_key: Callable[[dict[str, Any]], str | None] | None = None,
        health: Health | None = None,
    ) -> PromptAckRunner:
        return cls(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            lazy_listener_runner=runner.lazy_listener_runner,
            role=role,
            inbox=inbox,
            runs_in_web=runs_in_web,
            ordering_key=ordering_key,
            health=health,
        )

    async def finish(self, timeout: float) -> int:
        """At shutdown: wait up to `timeout` seconds for listeners still running after their answer
        (the service call after an `ack()`); returns how many were still running after it."""
        running = [t for t in self._tasks if not t.done()]
        if not running or timeout <= 0:
            return len(running)
        _done, late = await asyncio.wait(running, timeout=timeout)
        return len(late)

    def _defers(self, request: AsyncBoltRequest) -> bool:
        return self.role == "web" and not self.runs_in_web(request.body)

    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if self.process_before_response or request.lazy_only or listener.lazy_functions:
            return await super().run(request, response, listener_name, listener, starting_time)
        defer = self._defers(request)
        acked = asyncio.Event()
        ack = SignallingAck(acked, stop_after=defer)
        request.context["ack"] = ack  # the listener's `ack` argument is read from the context
        if listener.auto_acknowledgement:
            await AsyncAck.__call__(ack)  # Events API: acknowledge at once, as Bolt does
            acked.set()
            if defer:  # the event's listener runs in the worker only
                return await self._leave_to_worker(request, ack.response)
        task = asyncio.ensure_future(self._run_listener(ack, request, response, listener))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.role == "worker":
            await task  # nobody waits for this answer: the worker's job is the whole listener
        elif ack.response is None:
            waiter = asyncio.ensure_future(acked.wait())
            try:
                await asyncio.wait(
                    {waiter, task}, timeout=listener.ack_timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                waiter.cancel()
        if response is None and ack.response is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
            return None
        if defer and ack.response is not None and not task.done():
            task.cancel()  # parked in ack(): the worker runs the rest
            return await self._leave_to_worker(request, ack.response)
        return ack.response if response is None else response

    async def _leave_to_worker(self, request: AsyncBoltRequest, answer: BoltResponse | None) -> BoltResponse:
        """Append the request to the inbox, then answer; if it cannot be kept, the answer says so."""
        assert self.inbox is not None
        content_type = (request.headers.get("content-type") or ["application/x-www-form-urlencoded"])[0]
        try:
            # The inbox is a database: it keeps the body as cleaned at the door, never as typed.
            self.inbox.put(
                clean_raw_body(request.raw_body, content_type),
                content_type,
                goal_key=self.ordering_key(request.body),
            )
        except Exception as exc:
            log.exception("could not keep the request for the worker; answering that it was not recorded")
            if self.health is not None:
                self.health.failed("inbox", exc)
            return await not_recorded(request)
        if self.health is not None:
            self.health.ok("inbox")
        return answer if answer is not None else BoltResponse(status=200, body="")

    async def _run_listener(
        self, ack: AsyncAck, request: AsyncBoltRequest, response: BoltResponse | None, listener: AsyncListener
    ) -> None:
        # The same error handling as Bolt's runner: a failure before ack() answers 500.
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)  # type: ignore[arg-type]
        except Exception as e:
            if response is None:
                response = BoltResponse(status=500)
            response.status = 500
            if ack.response is not None:  # already acknowledged
                response = None
            await self.listener_error_handler.handle(error=e, request=request, response=response)  # type: ignore[arg-type]
            ack.response = response
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)  # type: ignore[arg-type]


async def not_recorded(request: AsyncBoltRequest) -> BoltResponse:
    """The answer to a request that could not be kept: never an empty 200 that reads as "done".

    A command's answer is shown to the person; a modal's answer keeps the modal open with the error;
    a click's answer is not shown by Slack, so the person gets an ephemeral message and the click a
    500 (Slack marks it failed); an event gets a 500, which Slack delivers again later.
    """
    from bot.observability.storage_health import NOT_RECORDED

    body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
    if "command" in body:
        text = json.dumps({"response_type": "ephemeral", "text": NOT_RECORDED}, ensure_ascii=False)
        return BoltResponse(status=200, body=text, headers={"content-type": "application/json"})
    if body.get("type") == "view_submission":
        view = body.get("view") or {}
        inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
        if inputs and inputs[0]:
            text = json.dumps(
                {"response_action": "errors", "errors": {inputs[0]: NOT_RECORDED}}, ensure_ascii=False
            )
            return BoltResponse(status=200, body=text, headers={"content-type": "application/json"})
    if body.get("type") == "block_actions":
        user = (body.get("user") or {}).get("id")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        client = request.context.client
        if client is not None and user and channel:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=NOT_RECORDED)
            except Exception:  # Slack unreachable too: the 500 below is all the person sees
                log.warning("could not tell %s that the click was not recorded", user)
    return BoltResponse(status=500, body="")
