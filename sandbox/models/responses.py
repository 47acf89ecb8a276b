"""A scripted OpenAI Responses API server for driving the real Codex CLI offline.

Codex POSTs `{base_url}/responses` with `stream: true` and the whole conversation every time (no
`previous_response_id`), and reads an SSE reply: `response.created`, one or more
`response.output_item.done`, then `response.completed` with usage. A body with Content-Length is
fine, no deltas are needed.

A script is a list of steps; each step is the list of output items of one model turn. Which step
to play is decided from the request itself, not from a call counter: the number of tool calls
already in the history after the last user message says how many steps were played. So a retried
request gets the same answer, and a fresh `codex exec` starts at step one. When the script runs
out, the model answers with a final message.

    server = ResponsesServer([[exec_command("echo hi > f.txt")], [message("Done.")]]).start()
    codex exec -c model_provider=local -c 'model_providers.local={..., base_url="<server.base_url>"}'

Run standalone with `python -m sandbox.models.responses --script steps.json --port 0`; a step item
in the file is a full item dict or a shorthand `{"exec_command": "..."}`, `{"apply_patch": "..."}`,
`{"message": "..."}`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
from collections.abc import Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CALL_TYPES = ("function_call", "custom_tool_call", "tool_search_call")
OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output")
FALLBACK_TEXT = "Done (the scripted model has no more steps)."


def exec_command(cmd: str, *, workdir: str | None = None, escalate: str | None = None) -> dict[str, Any]:
    """A shell command through Codex's `exec_command` function tool. With `escalate` (the reason
    shown to the person), the model asks to run it outside the sandbox, which needs an approval."""
    arguments: dict[str, Any] = {"cmd": cmd}
    if workdir is not None:
        arguments["workdir"] = workdir
    if escalate is not None:
        arguments["sandbox_permissions"] = "require_escalated"
        arguments["justification"] = escalate
    return {"type": "function_call", "name": "exec_command", "arguments": json.dumps(arguments)}


def apply_patch(patch: str) -> dict[str, Any]:
    """A freeform `*** Begin Patch … *** End Patch` through Codex's `apply_patch` custom tool."""
    if not patch.endswith("\n"):
        patch += "\n"
    return {"type": "custom_tool_call", "name": "apply_patch", "input": patch}


def message(text: str) -> dict[str, Any]:
    """A final assistant message."""
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


def _expand(item: dict[str, Any]) -> dict[str, Any]:
    if "type" in item:
        return dict(item)
    if "exec_command" in item:
        return exec_command(str(item["exec_command"]), workdir=item.get("workdir"))
    if "apply_patch" in item:
        return apply_patch(str(item["apply_patch"]))
    if "message" in item:
        return message(str(item["message"]))
    raise ValueError(f"unknown script item {item!r}")


def load_script(path: Path) -> list[list[dict[str, Any]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    steps = data["steps"] if isinstance(data, dict) else data
    return [[_expand(item) for item in step] for step in steps]


def _since_last_user(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    last = max((i for i, it in enumerate(items) if it.get("role") == "user"), default=-1)
    return list(items[last + 1 :])


def calls_in(items: Iterable[dict[str, Any]]) -> int:
    return sum(1 for item in items if item.get("type") in CALL_TYPES)


def sse(events: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


class ResponsesServer:
    """The scripted server on a background thread; `base_url` ends in `/v1`."""

    def __init__(
        self,
        steps: Sequence[Sequence[dict[str, Any]]] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | None = None,
    ) -> None:
        self.steps = [[_expand(item) for item in step] for step in steps]
        self.host = host
        self.port = port
        self.log_path = log_path
        self.requests: list[dict[str, Any]] = []
        # A model that never answers: requests are recorded and held until `release()` or `stop()`.
        self.hang = False
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> ResponsesServer:
        self._httpd = ThreadingHTTPServer((self.host, self.port), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="responses-model", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        """Let held requests go (they then get no answer: the connection closes)."""
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ResponsesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the model answers --------------------------------------------------------------------

    def step_for(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The items of the step this request is at (see the module docstring)."""
        seen = calls_in(_since_last_user(body.get("input") or []))
        played = 0
        for step in self.steps:
            if played == seen:
                return [dict(item) for item in step]
            played += calls_in(step)
            if calls_in(step) == 0:
                break  # a step with no tool call ends the turn; nothing follows it
        return [message(FALLBACK_TEXT)]

    def reply(self, body: dict[str, Any]) -> bytes:
        n = next(self._ids)
        items = self.step_for(body)
        for i, item in enumerate(items):
            item.setdefault("id", f"item_{n}_{i}")
            if item["type"] in CALL_TYPES:
                item.setdefault("call_id", f"call_{n}_{i}")
            if item["type"] == "message":
                item.setdefault("status", "completed")
        usage = {
            "input_tokens": 100,
            "input_tokens_details": None,
            "output_tokens": 10 * len(items),
            "output_tokens_details": None,
            "total_tokens": 100 + 10 * len(items),
        }
        response = {"id": f"resp_{n}", "object": "response", "model": body.get("model", "")}
        events = [{"type": "response.created", "response": response}]
        events += [
            {"type": "response.output_item.done", "output_index": i, "item": item}
            for i, item in enumerate(items)
        ]
        events.append({"type": "response.completed", "response": {**response, "usage": usage}})
        return sse(events)

    def tool_outputs(self) -> list[str]:
        """Every tool result Codex sent back, in order (from the last request, which holds all)."""
        if not self.requests:
            return []
        out = []
        for item in self.requests[-1]["body"].get("input") or []:
            if item.get("type") in OUTPUT_TYPES:
                value = item.get("output")
                out.append(value if isinstance(value, str) else json.dumps(value))
        return out

    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        entry = {"path": path, "headers": headers, "body": body}
        with self._lock:
            self.requests.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests capture output
                return

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"object": "list", "data": []}).encode(), "application/json")
                    return
                self._send(404, b'{"error":"not found"}', "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(400, b'{"error":"invalid json"}', "application/json")
                    return
                server._record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if server.hang:
                    server._released.wait(timeout=600)
                    self.close_connection = True
                    return
                if not self.path.rstrip("/").endswith("/responses"):
                    self._send(404, b'{"error":"only /responses is served"}', "application/json")
                    return
                self._send(200, server.reply(body), "text/event-stream")

        return Handler


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A scripted Responses API server for Codex.")
    parser.add_argument("--script", type=Path, required=True, help="JSON list of steps (see the docstring)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path, default=None, help="append every request to this JSONL file")
    args = parser.parse_args(argv)
    server = ResponsesServer(
        load_script(args.script), host=args.host, port=args.port, log_path=args.log
    ).start()
    print(f"Responses model on {server.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
