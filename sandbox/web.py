"""The sandbox's web page: a small Slack client for people, on the same server as the Web API.

    GET  /                 the page (server-rendered; ?user=U_APP1&channel=C_DEV&thread=<ts>&home=1)
    GET  /_web/panes       the same panes as JSON, fetched again by the page on every change
    GET  /_web/events      server-sent events: one `data: <version>` per change of the workspace
    POST /_web/send        the message box: `/orch …` runs a slash command, anything else is posted
    POST /_web/shortcut    a message shortcut from a message's ⋯ menu
    POST /_web/clock       move the sandbox clock forward ({"seconds": 3600})

Clicks and modal submissions go through the control API (`POST /_sandbox/click`, …), so the page
acts exactly as the test API does. Nothing here is fetched from the internet: the page's CSS and
script are served from `sandbox/static/`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sandbox.delivery import DeliveryError
from sandbox.mrkdwn import esc
from sandbox.state import BOT_USER_ID, State
from sandbox.web_page import COMMANDS, Where, boot_json, dm_id, panes, resolve, user_options

STATIC = Path(__file__).parent / "static"
# One wait on the state's condition lasts at most WAIT_SLICE seconds, so a closed page or a server
# shutdown frees its thread quickly; a comment line keeps idle connections open through proxies.
WAIT_SLICE = 0.25
KEEPALIVE_SECONDS = 15.0
_AT_NAME = re.compile(r"(?<![\w<])@([a-z0-9._-]+)", re.I)


class WebControl(Protocol):
    """The `Sandbox` as the page uses it."""

    def control(self, action: str, params: dict[str, Any]) -> Any: ...

    def shortcut(self, user: str, channel: str, message_ts: str, callback_id: str) -> Any: ...

    def advance_clock(self, seconds: float) -> float: ...


def _where(state: State, params: Any) -> Where:
    home = str(params.get("home", "")) in ("1", "true")
    return resolve(state, params.get("user"), params.get("channel"), params.get("thread"), home)


def with_mentions(state: State, text: str) -> str:
    """`@orch` and `@riley` as typed become `<@UBOT>` and `<@U_REQ>`, as Slack's composer does."""
    with state.lock:
        by_name = {u.name.lower(): u.id for u in state.users.values()}

    def swap(m: re.Match[str]) -> str:
        uid = by_name.get(m.group(1).lower())
        return f"<@{uid}>" if uid else m.group(0)

    return _AT_NAME.sub(swap, text)


def page_html(state: State, where: Where) -> str:
    shown = panes(state, where)
    thread_cls = "" if shown["thread"] else " hidden"
    clock = shown["clock"]
    disabled = "" if clock["movable"] else " disabled"
    return _PAGE.format(
        boot=boot_json(where),
        users=user_options(state, where),
        sidebar=shown["sidebar"],
        main=shown["main"],
        thread=shown["thread"],
        thread_cls=thread_cls,
        modal=shown["modal"]["html"],
        modal_key=esc(shown["modal"]["key"]),
        clock_now=esc(clock["now"]),
        clock_offset=esc(clock["offset"]),
        disabled=disabled,
        links="".join(
            f'<a class="chip" href="{esc(url)}" target="_blank" rel="noopener">{esc(label)}</a> '
            for label, url in state.links
        ),
    )


def web_routes(state: State, control: WebControl | None) -> list[BaseRoute]:
    async def index(request: Request) -> Response:
        where = _where(state, request.query_params)
        return HTMLResponse(page_html(state, where), headers={"Cache-Control": "no-store"})

    async def get_panes(request: Request) -> Response:
        return JSONResponse(
            panes(state, _where(state, request.query_params)), headers={"Cache-Control": "no-store"}
        )

    def wait_change(seen: int) -> int:
        with state.cond:
            state.cond.wait_for(lambda: state.version != seen, timeout=WAIT_SLICE)
            return state.version

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            seen, idle = -1, 0.0
            yield "retry: 1000\n\n"
            while not await request.is_disconnected():
                version = await run_in_threadpool(wait_change, seen)
                if version != seen:
                    seen, idle = version, 0.0
                    yield f"data: {version}\n\n"
                    continue
                idle += WAIT_SLICE
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ": keepalive\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def act(request: Request, run: Any) -> Response:
        if control is None:
            return JSONResponse({"ok": False, "error": "no_control"}, status_code=404)
        try:
            params = await request.json()
            if not isinstance(params, dict):
                raise TypeError("a JSON object is expected")
            result = await run_in_threadpool(run, params)
        except (ValueError, TypeError, KeyError, AssertionError) as exc:
            return JSONResponse({"ok": False, "error": "bad_request", "detail": str(exc)}, status_code=400)
        except DeliveryError as exc:
            return JSONResponse(
                {"ok": False, "error": "bot_unreachable", "detail": str(exc)}, status_code=502
            )
        return JSONResponse({"ok": True, "result": result})

    def send(params: dict[str, Any]) -> Any:
        assert control is not None
        user, text = str(params["user"]), str(params.get("text", "")).strip()
        channel = str(params["channel"])
        if not text:
            raise ValueError("type a message first")
        # The person's DM with the bot may not exist yet; naming the bot opens it.
        where = BOT_USER_ID if channel == dm_id(user) else channel
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command not in COMMANDS:
                raise ValueError(f"{command} is not a command here; try {' or '.join(COMMANDS)}")
            return {
                "kind": "slash",
                "delivery": control.control(
                    "slash", {"user": user, "channel": where, "command": command, "text": rest.strip()}
                ),
            }
        post = {
            "user": user,
            "channel": where,
            "text": with_mentions(state, text),
            "thread_ts": params.get("thread_ts") or None,
        }
        return {"kind": "post", **control.control("post", post)}

    def shortcut(params: dict[str, Any]) -> Any:
        assert control is not None
        delivery = control.shortcut(
            str(params["user"]), str(params["channel"]), str(params["ts"]), str(params["callback_id"])
        )
        return {"status": delivery.status, "outcome": delivery.outcome}

    def clock(params: dict[str, Any]) -> Any:
        assert control is not None
        seconds = float(params.get("seconds", 0))
        if not 0 < seconds <= 366 * 86400:
            raise ValueError("seconds must be between 1 and a year")
        return {"now": control.advance_clock(seconds)}

    async def send_route(request: Request) -> Response:
        return await act(request, send)

    async def shortcut_route(request: Request) -> Response:
        return await act(request, shortcut)

    async def clock_route(request: Request) -> Response:
        return await act(request, clock)

    return [
        Route("/", index, methods=["GET"]),
        Route("/_web/panes", get_panes, methods=["GET"]),
        Route("/_web/events", events, methods=["GET"]),
        Route("/_web/send", send_route, methods=["POST"]),
        Route("/_web/shortcut", shortcut_route, methods=["POST"]),
        Route("/_web/clock", clock_route, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox · Slack in a box</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/app.css">
</head><body>
<header class="topbar">
  <div class="brand">Slack in a box <span class="sub">sandbox workspace</span></div>
  <div class="clock" title="The sandbox clock: every timestamp the workspace and the bot see">
    <span>🕒 <b id="clock-now">{clock_now}</b> <span id="clock-offset" class="offset">{clock_offset}</span></span>
    <button type="button" class="chip" data-advance="3600"{disabled}>+1 hour</button>
    <button type="button" class="chip" data-advance="86400"{disabled}>+1 day</button>
  </div>
  {links}<label class="switcher">Acting as <select id="user-switcher">{users}</select></label>
</header>
<div class="layout">
  <aside id="sidebar" class="sidebar">{sidebar}</aside>
  <main class="main">
    <div id="main-pane" class="pane">{main}</div>
    <form id="composer" class="composer" autocomplete="off">
      <textarea id="composer-text" rows="2" placeholder="Message"></textarea>
      <button type="submit" class="send">Send</button>
      <div class="composer-hint">Enter sends, Shift+Enter for a new line ·
        <code>/orch start &lt;brief&gt;</code> · <code>@orch start</code> in a thread</div>
    </form>
  </main>
  <section id="thread-panel" class="thread{thread_cls}">
    <div id="thread-pane" class="pane">{thread}</div>
    <form id="reply-composer" class="composer" autocomplete="off">
      <textarea id="reply-text" rows="2" placeholder="Reply…"></textarea>
      <button type="submit" class="send">Reply</button>
    </form>
  </section>
</div>
<div id="modal-root" data-key="{modal_key}">{modal}</div>
<div id="menu" class="menu hidden" role="menu"></div>
<dialog id="confirm"><form method="dialog"><h3 id="confirm-title"></h3><p id="confirm-text"></p>
  <div class="modal-foot"><button value="deny" class="bk-button" id="confirm-deny">Cancel</button>
  <button value="ok" class="bk-button primary" id="confirm-ok">OK</button></div></form></dialog>
<div id="toasts" class="toasts" aria-live="polite"></div>
<script id="boot" type="application/json">{boot}</script>
<script src="/static/app.js"></script>
</body></html>
"""
