"""A scripted OpenAI **Chat Completions** server with fault modes, for drafting tests.

`POST /v1/chat/completions` answers with the first scripted content whose marker occurs in the
request's messages (a drafter's instructions name the phase: "You draft the PRD for goal …"), or
with the default answer. `GET /v1/models` is the cheap "is the model there?" call.

Faults, for tests of what happens when the model misbehaves:

- `fail_next(n, mode)`: the next `n` completions answer with `mode`: "500" (an HTTP 500 error),
  "malformed" (200, but the content is not JSON), "invalid" (200, JSON of the wrong shape) or
  "hang" (a slow model: no answer until `release()`, then the usual answer);
- `down()` / `up()`: while down, every request (the models list too) answers HTTP 503.

    server = ChatServer({"the PRD": prd_json}, default=other_json).start()
    server.fail_next(6, "500")

Like the rest of the sandbox, nothing here imports the bot.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_MODES = ("500", "malformed", "invalid", "hang")


class ChatServer:
    """The scripted server on a background thread; `base_url` ends in `/v1`."""

    def __init__(
        self,
        answers: Mapping[str, str] | None = None,
        *,
        default: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.answers = dict(answers or {})
        self.default = default
        self.host = host
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.completions = 0  # completions answered with content (not faults)
        self._faults: list[str] = []
        self._down = False
        self._hanging = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> ChatServer:
        self._httpd = ThreadingHTTPServer((self.host, self.port), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, name="chat-model", daemon=True).start()
        return self

    def stop(self) -> None:
        self._released.set()  # a hung request ends, so the server can shut down
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------------------

    def fail_next(self, n: int, mode: str = "500") -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}: use one of {FAULT_MODES}")
        with self._lock:
            self._faults.extend([mode] * n)

    def down(self) -> None:
        with self._lock:
            self._down = True

    def up(self) -> None:
        with self._lock:
            self._down = False
            self._faults.clear()

    def release(self) -> None:
        """Let hung requests answer (as usual); later "hang" faults no longer wait."""
        self._released.set()

    @property
    def hanging(self) -> int:
        """Requests waiting in a "hang" fault right now."""
        with self._lock:
            return self._hanging

    @property
    def faults_left(self) -> int:
        with self._lock:
            return len(self._faults)

    # -- what the model answers ------------------------------------------------------------------

    def content_for(self, body: dict[str, Any]) -> str | None:
        text = " ".join(str(m.get("content", "")) for m in body.get("messages") or [])
        return next((v for marker, v in self.answers.items() if marker in text), self.default)

    def _hang(self) -> bool:
        """Wait until released (True) or the server stops (False)."""
        with self._lock:
            self._hanging += 1
        try:
            self._released.wait(300)
            return self._httpd is not None
        finally:
            with self._lock:
                self._hanging -= 1

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._down:
                return "down"
            return self._faults.pop(0) if self._faults else None

    def completion(self, body: dict[str, Any], content: str) -> bytes:
        n = next(self._ids)
        return json.dumps(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "scripted"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        ).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests capture output
                return

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                body = {"error": {"message": message, "type": "server_error", "code": None}}
                self._send(status, json.dumps(body).encode())

            def do_GET(self) -> None:
                if not self.path.rstrip("/").endswith("/models"):
                    self._error(404, "not found")
                    return
                with server._lock:
                    down = server._down
                if down:
                    self._error(503, "the model is down")
                    return
                self._send(200, json.dumps({"object": "list", "data": [{"id": "scripted"}]}).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._error(400, "invalid json")
                    return
                with server._lock:
                    server.requests.append({"path": self.path, "body": body})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._error(404, "only /chat/completions is served")
                    return
                fault = server._next_fault()
                if fault == "down":
                    self._error(503, "the model is down")
                elif fault == "500":
                    self._error(500, "the model failed (scripted fault)")
                elif fault == "hang" and not server._hang():
                    self._error(500, "the server stopped while the request hung")
                elif fault == "malformed":
                    self._send(200, server.completion(body, "{not json"))
                elif fault == "invalid":
                    self._send(200, server.completion(body, json.dumps({"unexpected": True})))
                else:
                    content = server.content_for(body)
                    if content is None:
                        self._error(400, "no scripted answer for this request")
                        return
                    with server._lock:
                        server.completions += 1
                    self._send(200, server.completion(body, content))

        return Handler
