"""One Codex turn through `codex app-server` (JSON-RPC over stdio), in a goal's worktree.

The protocol is the one `codex app-server generate-json-schema` emits for the pinned CLI (0.169.0):
`initialize` → `initialized` → `thread/start` → `turn/start`, then notifications (`item/started`,
`item/completed`, `thread/tokenUsage/updated`, `turn/completed` …) and server requests
(`item/commandExecution/requestApproval`, `item/fileChange/requestApproval`) until the turn ends.
`turn/interrupt` stops a running turn; `turn/steer` adds a person's follow-up instruction to it,
which the model reads at its next request (after the tool call it is in, if any).

Decisions a reader may look for:
- The goal's mode maps onto Codex's sandbox and approval policy (`POLICY_FOR_MODE`): read-only,
  the default, lets Codex read and write inside the worktree only (workspace-write rooted there,
  network off); anything else it wants arrives as an approval request and waits for a person.
- Items are translated into the `codex exec --json` event shapes (`item.completed` with
  `file_change` / `command_execution` / `agent_message`, `turn.completed` with usage), so the run
  record and the progress line read the same whichever way Codex was driven.
- The environment, the throwaway CODEX_HOME and the shell environment policy are the exec
  runner's (bot/codex/runner.py): the provider key never reaches a command Codex runs.
- A timer interrupts, then kills, a turn past its deadline; every read is bounded by it.
- A model call that goes unanswered for `model_timeout` seconds (Codex silent while no command,
  file change, tool call or approval is in flight) is cut off: the turn is interrupted and fails
  with that reason. Codex's own stream idle timeout only starts once the model has answered.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.codex.events import CodexProgress
from bot.codex.runner import (
    PROVIDER_KEY_ENV,
    CodexConfig,
    CodexNotConfigured,
    CodexResult,
    _kill_group,
    codex_env,
)

# mode → (sandbox, approval policy, network inside the sandbox)
POLICY_FOR_MODE: dict[str, tuple[str, str, bool]] = {
    "read-only": ("workspace-write", "on-request", False),
    "workspace-write": ("workspace-write", "on-request", True),
    "full-access": ("danger-full-access", "never", True),
}
TOOL_ITEMS = frozenset({"commandExecution", "fileChange", "mcpToolCall", "dynamicToolCall", "webSearch"})
APPROVAL_METHODS = ("item/commandExecution/requestApproval", "item/fileChange/requestApproval")
ACCEPT, DECLINE = "accept", "decline"


@dataclass(frozen=True)
class ApprovalRequest:
    """What Codex asks to do outside its sandbox, exactly as it will run."""

    kind: str  # "command" | "patch"
    command: str  # the command line, or the patch's files and diff
    reason: str
    cwd: str
    item_id: str


Approver = Callable[[ApprovalRequest], bool]


def provider_config(config: CodexConfig) -> dict[str, Any]:
    base_url = config.provider_url or "https://api.openai.com/v1"
    if not base_url.startswith(("http://", "https://")) or any(ord(ch) < 32 for ch in base_url):
        raise CodexNotConfigured(f"the Codex provider URL must be an http(s) URL, got {base_url!r}")
    provider: dict[str, Any] = {
        "name": "orch",
        "base_url": base_url,
        "wire_api": "responses",
        # A model that does not answer is cut off after the model timeout, retried once, then the
        # turn fails (Codex's defaults wait 5 minutes and retry 4-5 times).
        "stream_idle_timeout_ms": max(1, int(config.model_timeout * 1000)),
        "request_max_retries": 1,
        "stream_max_retries": 1,
    }
    if config.api_key:
        provider["env_key"] = PROVIDER_KEY_ENV
    return {"model_provider": "orch", "model_providers": {"orch": provider}}


def thread_config(config: CodexConfig, *, network: bool) -> dict[str, Any]:
    """Provider, the shell environment policy (no key in any command's environment) and the sandbox."""
    return provider_config(config) | {
        "shell_environment_policy": {
            "ignore_default_excludes": False,
            "exclude": [PROVIDER_KEY_ENV, "OPENAI_API_KEY", "*KEY*", "*SECRET*", "*TOKEN*"],
        },
        "sandbox_workspace_write": {
            "network_access": network,
            "exclude_slash_tmp": True,
            "exclude_tmpdir_env_var": True,
        },
    }


def _exec_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """An app-server item in the `codex exec --json` shape (None for items nobody follows)."""
    kind = item.get("type")
    if kind == "fileChange":
        changes = [{"path": c.get("path"), "kind": c.get("kind")} for c in item.get("changes") or []]
        return {"id": item.get("id"), "type": "file_change", "changes": changes, "status": item.get("status")}
    if kind == "commandExecution":
        return {
            "id": item.get("id"),
            "type": "command_execution",
            "command": item.get("command") or "",
            "exit_code": item.get("exitCode"),
            "status": item.get("status"),
        }
    if kind == "agentMessage":
        return {"id": item.get("id"), "type": "agent_message", "text": item.get("text") or ""}
    return None


def _patch_text(params: dict[str, Any], changes: dict[str, list[dict[str, Any]]]) -> str:
    """The files and diff of a patch awaiting approval (collected from its `item/started`)."""
    parts = []
    for change in changes.get(str(params.get("itemId")), []):
        parts.append(f"{change.get('path')}\n{change.get('diff') or ''}".rstrip())
    return "\n".join(parts) or "(a file change outside the worktree)"


@dataclass
class AppServerTurn:
    """One thread with one turn; `interrupt()` may be called from any thread while `run()` runs."""

    config: CodexConfig
    worktree: Path
    mode: str
    on_event: Callable[[dict[str, Any]], None] | None = None
    on_progress: Callable[[str, CodexProgress], None] | None = None
    approve: Approver | None = None
    on_usage: Callable[[dict[str, Any]], None] | None = None  # the turn's usage so far, as it grows
    extra_config: dict[str, Any] = field(default_factory=dict)  # more thread config (`mcp_servers`)
    # With MCP servers configured, the turn starts once each reported ready (or failed), or after
    # this many seconds: a tool search made before a server is up finds none of its tools.
    mcp_wait: float = 30.0
    _starting_mcp: set[str] = field(default_factory=set, init=False, repr=False)
    _turn_sent: bool = field(default=False, init=False, repr=False)
    _proc: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)
    _ids: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    interrupted: bool = field(default=False, init=False)
    stopped_by: str | None = field(default=None, init=False)  # who asked to stop (bot/codex/running.py)
    finished: bool = field(default=False, init=False)
    model_timed_out: bool = field(default=False, init=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _last: float = field(default=0.0, init=False, repr=False)  # when Codex last said anything
    _busy: set[str] = field(default_factory=set, init=False, repr=False)  # tool items in flight
    _steers: dict[str, tuple[str, str]] = field(default_factory=dict, init=False, repr=False)
    _queued: list[tuple[str, str]] = field(default_factory=list, init=False, repr=False)

    def _send(self, message: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        with self._lock, contextlib.suppress(BrokenPipeError, ValueError):
            proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
            proc.stdin.flush()

    def interrupt(self) -> bool:
        """Stop the turn (`turn/interrupt`): now if it runs, else as soon as it has started."""
        self.interrupted = True
        thread, turn = self._ids.get("thread"), self._ids.get("turn")
        if not thread or not turn:
            return True  # sent when turn/start answers
        self._send(
            {"id": "interrupt", "method": "turn/interrupt", "params": {"threadId": thread, "turnId": turn}}
        )
        return True

    def steer(self, text: str, *, by: str) -> bool:
        """Send a follow-up instruction into the running turn (`turn/steer`); queued when the turn
        has no id yet. False once the turn has ended: there is no next step to read it."""
        with self._lock:
            if self.finished or self.interrupted:
                return False
            thread, turn = self._ids.get("thread"), self._ids.get("turn")
            if not thread or not turn:
                self._queued.append((text, by))
                return True
            request_id = f"steer-{len(self._steers) + 1}"
            self._steers[request_id] = (text, by)
        self._send(
            {
                "id": request_id,
                "method": "turn/steer",
                "params": {
                    "threadId": thread,
                    "expectedTurnId": turn,
                    "input": [{"type": "text", "text": text}],
                },
            }
        )
        return True

    def _start_turn(self, prompt: str) -> None:
        """`turn/start`, once (when the MCP servers are up, or when waiting for them timed out)."""
        with self._lock:
            if self._turn_sent:
                return
            self._turn_sent = True
        self._send(
            {
                "id": "turn",
                "method": "turn/start",
                "params": {"threadId": self._ids["thread"], "input": [{"type": "text", "text": prompt}]},
            }
        )

    def _steered(self, message: dict[str, Any], result: CodexResult) -> None:
        """Codex's answer to a `turn/steer`: the run record says what it accepted, and from whom."""
        with self._lock:
            text, by = self._steers.pop(str(message.get("id")), ("", ""))
        if "error" in message:
            error = str((message.get("error") or {}).get("message") or "refused")
            self._emit({"type": "orch.steer_refused", "by": by, "text": text, "error": error}, result)
        else:
            self._emit({"type": "orch.steered", "by": by, "text": text}, result)

    def run(self, prompt: str) -> CodexResult:
        if self.mode not in POLICY_FOR_MODE:
            raise ValueError(f"unknown goal mode {self.mode!r}: use one of {', '.join(POLICY_FOR_MODE)}")
        sandbox, policy, network = POLICY_FOR_MODE[self.mode]
        home = Path(tempfile.mkdtemp(prefix="orch-codex-"))
        (home / "codex").mkdir()
        progress = CodexProgress(cwd=self.worktree)
        result = CodexResult(exit_code=None, progress=progress)
        try:
            with (home / "stderr.txt").open("w+", encoding="utf-8", errors="replace") as err:
                self._proc = subprocess.Popen(
                    [str(self.config.binary), "app-server"],
                    cwd=self.worktree,
                    env=codex_env(self.config, home),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    start_new_session=True,
                )
                timer = threading.Timer(self.config.timeout, self._time_out, args=(result,))
                timer.start()
                done = threading.Event()
                self._last = self.clock()
                watchdog = threading.Thread(target=self._watch_model, args=(done,), daemon=True)
                watchdog.start()
                try:
                    self._converse(prompt, sandbox, policy, network, result)
                finally:
                    timer.cancel()
                    done.set()
                    self._close()
                    watchdog.join(timeout=5)
                if result.exit_code is None:  # the stream ended before the turn did
                    result.exit_code = self._proc.returncode
                err.seek(0)
                result.stderr = err.read()
        finally:
            shutil.rmtree(home, ignore_errors=True)
        return result

    def _close(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(proc)  # type: ignore[arg-type]
            proc.wait()

    def _watch_model(self, done: threading.Event) -> None:
        """Cut off a model call that goes unanswered: interrupt, then kill if Codex does not end the turn."""
        limit = self.config.model_timeout
        while not done.wait(min(0.25, limit / 4)):
            if self._busy or self.model_timed_out or not self._ids.get("turn"):
                continue
            if self.clock() - self._last >= limit:
                self.model_timed_out = True
                self.interrupt()
                if not done.wait(5) and self._proc is not None:
                    _kill_group(self._proc)  # type: ignore[arg-type]
                return

    def _time_out(self, result: CodexResult) -> None:
        result.timed_out = True
        if self._proc is not None:
            _kill_group(self._proc)  # type: ignore[arg-type]

    def _emit(self, event: dict[str, Any], result: CodexResult) -> None:
        result.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        update = result.progress.apply(event)
        if update is not None and self.on_progress is not None:
            self.on_progress(update, result.progress)

    def _converse(self, prompt: str, sandbox: str, policy: str, network: bool, result: CodexResult) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        self._send(
            {"id": "init", "method": "initialize", "params": {"clientInfo": {"name": "orch", "version": "1"}}}
        )
        usage: dict[str, Any] | None = None
        changes: dict[str, list[dict[str, Any]]] = {}
        for line in proc.stdout:
            self._last = self.clock()
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(message, dict):
                continue
            method, params = message.get("method"), message.get("params") or {}
            if message.get("id") == "init":
                self._send({"method": "initialized"})
                self._send(
                    {
                        "id": "thread",
                        "method": "thread/start",
                        "params": {
                            "cwd": str(self.worktree),
                            "model": self.config.model,
                            "sandbox": sandbox,
                            "approvalPolicy": policy,
                            "config": thread_config(self.config, network=network) | self.extra_config,
                            "ephemeral": True,
                        },
                    }
                )
            elif message.get("id") == "thread":
                if "error" in message:
                    result.progress.error = str(message["error"].get("message", "thread/start failed"))
                    return
                self._ids["thread"] = str(message["result"]["thread"]["id"])
                self._emit({"type": "thread.started", "thread_id": self._ids["thread"]}, result)
                self._starting_mcp = set(self.extra_config.get("mcp_servers") or {})
                if not self._starting_mcp:
                    self._start_turn(prompt)
                else:
                    waiting = threading.Timer(self.mcp_wait, self._start_turn, args=(prompt,))
                    waiting.daemon = True
                    waiting.start()
            elif method == "mcpServer/startupStatus/updated" and params.get("status") != "starting":
                self._starting_mcp.discard(str(params.get("name")))
                if not self._starting_mcp and self._ids.get("thread"):
                    self._start_turn(prompt)
            elif message.get("id") == "turn" and "result" in message:
                with self._lock:
                    self._ids["turn"] = str(message["result"]["turn"]["id"])
                    queued, self._queued = self._queued, []
                if self.interrupted:  # Stop came before the turn had an id
                    self.interrupt()
                for text, by in queued:  # follow-ups that came before the turn had an id
                    self.steer(text, by=by)
            elif str(message.get("id", "")).startswith("steer-"):
                self._steered(message, result)
            elif method in APPROVAL_METHODS and "id" in message:
                self._busy.add("approval")  # a person deciding is not a model hanging
                try:
                    self._answer(message, changes, result)
                finally:
                    self._busy.discard("approval")
                    self._last = self.clock()
            elif method == "item/started":
                item = params.get("item") or {}
                if item.get("type") in TOOL_ITEMS:
                    self._busy.add(str(item.get("id")))
                if item.get("type") == "fileChange":
                    changes[str(item.get("id"))] = list(item.get("changes") or [])
            elif method == "item/completed":
                self._busy.discard(str((params.get("item") or {}).get("id")))
                converted = _exec_item(params.get("item") or {})
                if converted is not None:
                    self._emit({"type": "item.completed", "item": converted}, result)
            elif method == "thread/tokenUsage/updated":
                total = (params.get("tokenUsage") or {}).get("total") or {}
                usage = {
                    "input_tokens": total.get("inputTokens", 0),
                    "cached_input_tokens": total.get("cachedInputTokens", 0),
                    "output_tokens": total.get("outputTokens", 0),
                    "reasoning_output_tokens": total.get("reasoningOutputTokens", 0),
                }
                if self.on_usage is not None:
                    self.on_usage(usage)
            elif method == "turn/completed":
                with self._lock:
                    self.finished = True
                turn = params.get("turn") or {}
                status = turn.get("status")
                if self.model_timed_out:
                    limit = f"{self.config.model_timeout:g}"
                    error = f"the model did not answer within {limit} s (ORCH_MODEL_TIMEOUT), so the turn was cut off"
                    self._emit({"type": "turn.failed", "error": {"message": error}}, result)
                elif status == "completed" or (status == "interrupted" and self.interrupted):
                    self._emit({"type": "turn.completed", "usage": usage, "status": status}, result)
                else:
                    error = (turn.get("error") or {}).get("message") or f"the turn ended as {status}"
                    self._emit({"type": "turn.failed", "error": {"message": str(error)}}, result)
                result.exit_code = 0
                return
            elif method == "error" and not params.get("willRetry"):
                error = (params.get("error") or {}).get("message") or "Codex reported an error"
                self._emit({"type": "error", "message": str(error)}, result)

    def _answer(
        self, message: dict[str, Any], changes: dict[str, list[dict[str, Any]]], result: CodexResult
    ) -> None:
        params = message.get("params") or {}
        patch = message["method"] == "item/fileChange/requestApproval"
        request = ApprovalRequest(
            kind="patch" if patch else "command",
            command=_patch_text(params, changes) if patch else str(params.get("command") or ""),
            reason=str(params.get("reason") or ""),
            cwd=str(params.get("cwd") or self.worktree),
            item_id=str(params.get("itemId") or ""),
        )
        self._emit(
            {
                "type": "approval.requested",
                "kind": request.kind,
                "command": request.command,
                "reason": request.reason,
                "item_id": request.item_id,
            },
            result,
        )
        allowed = bool(self.approve(request)) if self.approve is not None and not self.interrupted else False
        self._emit(
            {
                "type": "approval.decided",
                "item_id": request.item_id,
                "command": request.command,
                "approved": allowed,
            },
            result,
        )
        self._send({"id": message["id"], "result": {"decision": ACCEPT if allowed else DECLINE}})
