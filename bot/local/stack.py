"""Run the bot against the local Slack sandbox: `orch sandbox`, `orch demo` and the browser tests.

`start_local()` is the whole local stack in one call: the sandbox (Web API and web page) on a
clock that can be moved forward, the real bot (uvicorn + Bolt) on a free port with embedded
defaults (SQLite, a fresh git repository, the offline drafter), and the wires between them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from bot.config import Settings, load_settings

if TYPE_CHECKING:
    from sandbox import Sandbox
    from sandbox.clock import OffsetClock

log = logging.getLogger(__name__)
SANDBOX_BOT_TOKEN = "xoxb-sandbox-local-bot-token"  # only valid against the local sandbox
APPROVERS = ("U_APP1", "U_APP2")
MARKER = ".orch-local"  # marks a work folder this module made, so only such a folder is ever emptied


def sandbox_settings(
    *, api_url: str, bot_port: int, workdir: Path, signing_secret: str, **extra: Any
) -> Settings:
    repo = workdir / "repo"
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "README.md").write_text("# Demo service\n\nA fresh repository the orchestrator works on.\n")
        subprocess.run(["git", "-C", str(repo), "add", "README.md"], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "-c",
                "user.name=Demo",
                "-c",
                "user.email=demo@example.invalid",
                "commit",
                "-q",
                "-m",
                "Initial commit",
            ],
            check=True,
        )
    values: dict[str, Any] = {
        "slack_bot_token": SANDBOX_BOT_TOKEN,
        "slack_signing_secret": signing_secret,
        "slack_api_url": api_url,
        "host": "127.0.0.1",
        "port": bot_port,
        "database_url": f"sqlite:///{workdir / 'orch.db'}",
        "repo": repo,
        "approvers": list(APPROVERS),
        "agent_backend": "offline",
    }
    values.update(extra)
    return load_settings(**values)


@dataclass
class BotThread:
    """The real bot (uvicorn + Bolt) in a background thread: used by the demo and the tests.

    `clock` is the bot's clock (datetimes); `signature_clock` is what request signatures are
    checked against, which must be the clock the sandbox signs with when that one is moved.
    """

    settings: Settings
    clock: Any = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    container: Any = None
    signature_clock: Callable[[], float] | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 20.0) -> BotThread:
        from bot.app import build_container
        from bot.services.unit import system_clock
        from bot.web.bolt import build_bolt_app
        from bot.web.http_server import uvicorn_config
        from bot.web.server import build_asgi

        self.container = build_container(self.settings, clock=self.clock or system_clock)
        asgi = build_asgi(
            self.container, build_bolt_app(self.container), clock=self.signature_clock or time.time
        )
        config = uvicorn_config(
            asgi,
            host=self.settings.host,
            port=self.settings.port,
            header_timeout=self.settings.http_header_timeout,
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[attr-defined,method-assign]
        self.thread = threading.Thread(target=self.server.run, name="orch-bot", daemon=True)
        self.thread.start()
        started = threading.Event()

        def wait() -> None:
            while not (self.server and self.server.started) and self.thread and self.thread.is_alive():
                started.wait(0.01)

        waiter = threading.Thread(target=wait)
        waiter.start()
        waiter.join(timeout)
        if not self.server.started:
            raise RuntimeError("the bot did not start")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until the effects dispatcher has nothing due (bounded).

        Runs on a thread of its own, so it also works where an event loop already runs (Playwright's).
        """
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self.container.dispatcher.drain(timeout=timeout))
            except BaseException as exc:  # handed to the caller below
                failure.append(exc)

        worker = threading.Thread(target=run, name="orch-drain")
        worker.start()
        worker.join(timeout + 5)
        if failure:
            raise failure[0]


@dataclass
class LocalStack:
    """The sandbox and the bot wired together; `url` is the web page."""

    sandbox: Sandbox
    bot: BotThread
    settings: Settings
    clock: OffsetClock
    hooks: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.sandbox.base_url + "/"

    @property
    def repo(self) -> Path:
        return Path(self.settings.repo)

    def stop(self) -> None:
        self.bot.stop()
        self.sandbox.stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fresh_workdir(path: Path) -> Path:
    """An empty work folder at `path`; a folder is only emptied when this module made it."""
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists():
            raise RuntimeError(f"{path} exists and was not made by orch; move it away or pick another folder")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("made by orch for a local sandbox run; emptied at the next run\n")
    return path


def on_clock_advanced(container: Any, seconds: float) -> Any:
    """The web page moved the sandbox clock: run the SLA sweep now, so late approvals are chased.

    The bot reads the same clock, so the sweep sees the new time; its reminders and escalations go
    out through the outbox as DMs and thread notes, which the page shows as they arrive. Returns
    the sweep's report, or None when the bot has no jobs runtime.
    """
    jobs = container.jobs
    if jobs is None:
        log.info("clock moved %.0fs; this bot has no jobs runtime, so no SLA sweep runs", seconds)
        return None
    return jobs.sweep()


def start_local(
    *,
    workdir: Path,
    port: int = 0,
    bot_port: int = 0,
    clock: OffsetClock | None = None,
    **settings_overrides: Any,
) -> LocalStack:
    """Start the sandbox (on `port`, 0 for a free one) and the bot against it, sharing one clock."""
    from sandbox import Sandbox
    from sandbox.clock import OffsetClock

    clock = clock or OffsetClock()
    secret = secrets.token_hex(16)
    sb = Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN, port=port, clock=clock).start()
    try:
        settings = sandbox_settings(
            api_url=sb.api_url,
            bot_port=bot_port,
            workdir=workdir,
            signing_secret=secret,
            **settings_overrides,
        )
        shared = clock
        bot = BotThread(settings, clock=lambda: datetime.fromtimestamp(shared(), UTC), signature_clock=shared)
        bot.start()
    except BaseException:
        sb.stop()
        raise
    sb.request_url = f"{bot.url}/slack/events"
    sb.clock_listeners.append(lambda seconds: on_clock_advanced(bot.container, seconds))
    return LocalStack(sandbox=sb, bot=bot, settings=settings, clock=clock)


def wait_for_interrupt() -> None:
    """Block the main thread until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):  # A timed wait keeps the main thread responsive to Ctrl-C.
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def banner(stack: LocalStack) -> str:
    return "\n".join(
        [
            "Codex-Orchestrator in a local Slack sandbox (no Slack account needed)",
            "",
            f"  Open {stack.url} in a browser.",
            "  You are riley (the requester) in #dev. Type:  /orch start Add a CSV export of monthly invoices",
            "  Switch to avery or blake (top right) to approve each phase; oscar is an outsider.",
            '  "+1 day" in the top bar moves the sandbox clock, to see what happens to late approvals.',
            f"  Target repository: {stack.repo}   (git -C {stack.repo} log --oneline)",
            "",
            "  Ctrl-C stops.",
        ]
    )


def serve_interactive(*, port: int, workdir: Path, bot_port: int = 0) -> int:
    try:
        stack = start_local(workdir=fresh_workdir(workdir), port=port, bot_port=bot_port)
    except OSError as exc:  # most often: the port is taken by an earlier run or another program
        print(f"cannot start on port {port}: {exc.strerror or exc}. Try another one: --port {port + 10}")
        return 2
    try:
        print(banner(stack), flush=True)
        wait_for_interrupt()
    finally:
        stack.stop()
    print("Stopped.")
    return 0


def run_sandbox(*, port: int, bot_port: int, workdir: Path = Path(".orch/sandbox")) -> None:
    """`orch sandbox`: the web page and the bot, until Ctrl-C."""
    serve_interactive(port=port, workdir=workdir, bot_port=bot_port)
