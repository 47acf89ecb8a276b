"""The HTTP face of the sandbox: Slack's Web API, file uploads, response_urls, a control API.

Every route takes `state.lock` around its whole effect, so a call is atomic with respect to the
test thread. Answers mimic Slack: HTTP 200 with `ok: false` for API errors, 429 with Retry-After
when a test asked for rate limiting.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox import api_chat, api_conversations, api_files, api_views  # noqa: F401  (they register methods)
from sandbox.api_base import METHODS, Args, Ctx
from sandbox.delivery import DeliveryError
from sandbox.replies import use_response_url
from sandbox.state import ApiCall, ApiError, State
from sandbox.web import web_routes

logger = logging.getLogger(__name__)


class Control(Protocol):
    """What the control API drives: the `Sandbox` object, acting as a person would."""

    def control(self, action: str, params: dict[str, Any]) -> Any: ...


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _read_args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError("invalid_json") from None
            if not isinstance(body, dict):
                raise ApiError("invalid_json")
            args.update(body)
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form() as form:
            args.update({k: v for k, v in form.items() if not isinstance(v, UploadFile)})
    return args


def _token(request: Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    token = args.get("token")
    return str(token) if token else None


def _outage(kind: str, retry_after: int) -> ApiError:
    """The answer of every call during an outage: an HTML 500 page (as a proxy in front of Slack
    sends), `ok:false internal_error`, or a 429 with Retry-After."""
    if kind == "http500":
        return ApiError("http_500_page", status=500)
    if kind == "ratelimited":
        return ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
    return ApiError(kind)


def create_app(state: State, *, page_size: int = 15, control: Control | None = None) -> Starlette:
    """The Starlette app; `page_size` is the default `limit`, small so the bot must paginate."""

    async def api(request: Request) -> Response:
        name = request.path_params["method"]
        status, headers = 200, {}
        args: dict[str, Any] = {}
        try:
            args = await _read_args(request)
            token = _token(request, args)
            with state.lock:
                if token is None:
                    raise ApiError("not_authed")
                if token not in state.tokens:
                    raise ApiError("invalid_auth")
                if state.outage is not None:
                    raise _outage(*state.outage)
                remaining, retry_after = state.rate_limits.get(name, (0, 0))
                if remaining > 0:
                    state.rate_limits[name] = (remaining - 1, retry_after)
                    raise ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
                if name not in METHODS:
                    raise ApiError("unknown_method")
                body = METHODS[name](Ctx(state, _base_url(request), page_size), Args(args))
                times, needle = state.late.get(name, (0, None))
                late = times > 0 and (needle is None or needle in str(args.get("text", "")))
                if late:
                    state.late[name] = (times - 1, needle)
        except ApiError as exc:
            body, status, headers = exc.body(), exc.status, exc.headers
            late = False
        except Exception as exc:  # A sandbox bug must be loud in the test, not a hang or a bare 500.
            logger.exception("sandbox method %s failed", name)
            body, status = {"ok": False, "error": "sandbox_internal_error", "detail": repr(exc)}, 500
        with state.lock:
            logged = {k: v for k, v in args.items() if k != "token"}
            state.calls.append(ApiCall(name, logged, status, copy.deepcopy(body), state.clock()))
            state.changed()
        if late:
            # Carried out, answered late: the caller's timeout fires first (Slack under load).
            await run_in_threadpool(state.late_release.wait, 60)
        if status == 500 and body.get("error") == "http_500_page":
            return HTMLResponse(
                "<html><body><h1>500 Internal Server Error</h1></body></html>", status_code=500
            )
        return JSONResponse(body, status_code=status, headers=headers)

    async def upload(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form() as form:
                parts = [v for v in form.values() if isinstance(v, UploadFile)]
                data = await parts[0].read() if parts else b""
        else:
            data = await request.body()
        with state.lock:
            stored = state.files.get(file_id)
            if stored is None:
                return PlainTextResponse("file not found", status_code=404)
            stored.data = data
            state.changed()
        return PlainTextResponse(f"OK - {len(data)}")

    async def download(request: Request) -> Response:
        with state.lock:
            stored = state.files.get(request.path_params["file_id"])
            if stored is None or stored.data is None:
                return PlainTextResponse("file not found", status_code=404)
            return Response(stored.data, media_type="application/octet-stream")

    async def respond(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ApiError("invalid_json", status=400)
            use_response_url(state, request.path_params["token"], body)
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_json"}, status_code=400)
        except ApiError as exc:
            return JSONResponse(exc.body(), status_code=exc.status if exc.status != 200 else 400)
        return JSONResponse({"ok": True})

    async def snapshot(request: Request) -> Response:
        return JSONResponse(state.snapshot())

    async def act(request: Request) -> Response:
        if control is None:
            return JSONResponse({"ok": False, "error": "no_control"}, status_code=404)
        try:
            params = json.loads(await request.body() or b"{}")
            # Actions deliver to the bot, which may call back into this server: run them off the loop.
            result = await run_in_threadpool(control.control, request.path_params["action"], params)
        except (ValueError, TypeError, KeyError, AssertionError) as exc:
            return JSONResponse({"ok": False, "error": "bad_request", "detail": str(exc)}, status_code=400)
        except DeliveryError as exc:
            return JSONResponse(
                {"ok": False, "error": "bot_unreachable", "detail": str(exc)}, status_code=502
            )
        return JSONResponse({"ok": True, "result": result})

    routes = [
        Route("/api/{method:str}", api, methods=["GET", "POST"]),
        Route("/upload/{file_id:str}", upload, methods=["POST"]),
        Route("/files/{file_id:str}", download, methods=["GET"]),
        Route("/response/{token:str}", respond, methods=["POST"]),
        Route("/_sandbox/state", snapshot, methods=["GET"]),
        Route("/_sandbox/{action:str}", act, methods=["POST"]),
        *web_routes(state, control),  # type: ignore[arg-type]  # the page for people (sandbox/web.py)
    ]
    return Starlette(routes=routes)
