"""One `codex exec --json` run in a goal's worktree.

Decisions a reader may look for:
- The sandbox follows the goal's approved mode: read-only → `-s read-only`, workspace-write →
  `-s workspace-write`, full-access → `-s danger-full-access`. Nothing else can widen it.
- Each run gets its own throwaway `CODEX_HOME` (and `HOME`), removed afterwards: Codex keeps
  sessions and SQLite files there, and no run may see another's.
- The model provider always comes from configuration (`codex_provider_url`, else `OPENAI_BASE_URL`,
  else OpenAI with `OPENAI_API_KEY`). Codex's default provider retries forever without network, so running with
  neither is refused up front.
- The environment is built from scratch: the bot's Slack and database secrets never reach the
  commands Codex runs. Only a provider key, when one is configured, is passed, under its own name,
  to Codex alone: its `shell_environment_policy` keeps it out of every command's environment.
- The prompt goes in on stdin, so a task title starting with `-` is never read as an option.
- A timer kills the whole process group at the deadline; nothing waits unbounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.codex.binary import require_codex
from bot.codex.events import CodexProgress, parse_line

if TYPE_CHECKING:
    from bot.config import Settings

SANDBOX_FOR_MODE = {
    "read-only": "read-only",
    "workspace-write": "workspace-write",
    "full-access": "danger-full-access",
}
PROVIDER_KEY_ENV = "ORCH_CODEX_API_KEY"
_PASSTHROUGH_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")


class CodexNotConfigured(RuntimeError):
    """Codex has no model provider to talk to; the message says what to set."""


@dataclass(frozen=True)
class CodexConfig:
    binary: Path
    model: str
    provider_url: str | None
    api_key: str | None = None
    timeout: float = 900.0
    # Seconds one model call may go without an answer before Codex gives it up (one retry, then the
    # turn fails): a hanging model is cut off after this, not after the whole run's `timeout`.
    model_timeout: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> CodexConfig:
        secret = settings.openai_api_key
        key = secret.get_secret_value() if secret is not None else None
        # Codex's own URL wins; else the endpoint the drafters use; else OpenAI's with the key.
        url = settings.codex_provider_url or settings.openai_base_url or None
        if url is None and not key:
            raise CodexNotConfigured(
                "Codex needs a model provider: set OPENAI_BASE_URL or ORCH_CODEX_PROVIDER_URL (a Responses "
                "API endpoint) or OPENAI_API_KEY"
            )
        return cls(
            binary=require_codex(settings.codex_bin),
            model=settings.codex_model or "gpt-5.5",
            provider_url=url,
            api_key=key or None,
            timeout=settings.codex_timeout,
            model_timeout=settings.model_timeout or 120.0,
        )


@dataclass
class CodexResult:
    exit_code: int | None
    progress: CodexProgress
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.exit_code == 0
            and not self.timed_out
            and self.progress.finished
            and self.progress.error is None
        )

    def failure(self) -> str:
        if self.timed_out:
            return "Codex did not finish in time and was stopped"
        if self.progress.error:
            return f"Codex failed: {self.progress.error}"
        if self.exit_code == 0:
            last = self.progress.warnings[-1] if self.progress.warnings else "no turn.completed event"
            return f"Codex stopped before finishing its turn: {last}"
        tail = " ".join(self.stderr.strip().splitlines()[-3:])
        return f"Codex exited with code {self.exit_code}: {tail[:300]}"


def _toml_string(value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise CodexNotConfigured("the Codex provider URL must not contain control characters")
    return json.dumps(value)  # a JSON string without control characters is a TOML basic string


def provider_args(config: CodexConfig) -> list[str]:
    base_url = config.provider_url or "https://api.openai.com/v1"
    if not base_url.startswith(("http://", "https://")):
        raise CodexNotConfigured(f"ORCH_CODEX_PROVIDER_URL must be an http(s) URL, got {base_url!r}")
    fields = [f"name={_toml_string('orch')}", f"base_url={_toml_string(base_url)}", 'wire_api="responses"']
    if config.api_key:
        fields.append(f"env_key={_toml_string(PROVIDER_KEY_ENV)}")
    return ["-c", "model_provider=orch", "-c", "model_providers.orch={" + ",".join(fields) + "}"]


# What the commands Codex runs may see of Codex's own environment. Codex reads the provider key
# from its environment (`env_key`), and by default hands that whole environment to every command:
# `env` in the sandbox would print the key. The environment is already built from scratch
# (`codex_env`); on top of that Codex's default excludes (names with KEY, SECRET or TOKEN) are
# switched on and the key's name is excluded by name, so no one setting alone keeps it out.
SHELL_ENV_POLICY = (
    "-c",
    "shell_environment_policy.ignore_default_excludes=false",
    "-c",
    f'shell_environment_policy.exclude=["{PROVIDER_KEY_ENV}", "OPENAI_API_KEY", "*KEY*", "*SECRET*", "*TOKEN*"]',
)


def codex_command(config: CodexConfig, *, worktree: Path, mode: str) -> list[str]:
    if mode not in SANDBOX_FOR_MODE:
        raise ValueError(f"unknown goal mode {mode!r}: use one of {', '.join(SANDBOX_FOR_MODE)}")
    return [
        str(config.binary),
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--ephemeral",
        "-m",
        config.model,
        "-s",
        SANDBOX_FOR_MODE[mode],
        "-C",
        str(worktree),
        *provider_args(config),
        *SHELL_ENV_POLICY,
        "-",  # the prompt comes on stdin
    ]


def codex_env(config: CodexConfig, home: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSTHROUGH_ENV if name in os.environ}
    env.update(HOME=str(home), CODEX_HOME=str(home / "codex"), PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1")
    if config.api_key:
        env[PROVIDER_KEY_ENV] = config.api_key
    return env


def run_codex(
    config: CodexConfig,
    *,
    worktree: Path,
    mode: str,
    prompt: str,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_progress: Callable[[str, CodexProgress], None] | None = None,
) -> CodexResult:
    """Run Codex once to completion (or the timeout) and return what it did."""
    command = codex_command(config, worktree=worktree, mode=mode)
    home = Path(tempfile.mkdtemp(prefix="orch-codex-"))
    (home / "codex").mkdir()
    progress = CodexProgress(cwd=worktree)
    result = CodexResult(exit_code=None, progress=progress)
    stderr_file = home / "stderr.txt"
    try:
        with stderr_file.open("w+", encoding="utf-8", errors="replace") as err:
            proc = subprocess.Popen(
                command,
                cwd=worktree,
                env=codex_env(config, home),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,
            )
            timer = threading.Timer(config.timeout, _time_out, args=(proc, result))
            timer.start()
            try:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(prompt)
                proc.stdin.close()
                for line in proc.stdout:
                    event = parse_line(line)
                    if event is None:
                        continue
                    result.events.append(event)
                    if on_event is not None:
                        on_event(event)
                    update = progress.apply(event)
                    if update is not None and on_progress is not None:
                        on_progress(update, progress)
                result.exit_code = proc.wait()
            finally:
                timer.cancel()
                if proc.poll() is None:  # an exception left it running
                    _kill_group(proc)
                    proc.wait()
            err.seek(0)
            result.stderr = err.read()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


def _time_out(proc: subprocess.Popen[str], result: CodexResult) -> None:
    result.timed_out = True
    _kill_group(proc)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
