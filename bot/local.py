"""Run the bot against the local Slack sandbox: `orch sandbox` and the `orch demo` walkthrough."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from bot.config import Settings, load_settings

SANDBOX_BOT_TOKEN = "xoxb-sandbox-local-bot-token"  # only valid against the local sandbox
APPROVERS = ("U_APP1", "U_APP2")


def sandbox_settings(*, api_url: str, bot_port: int, workdir: Path, signing_secret: str, **extra: Any) -> Settings:
    repo = workdir / "repo"
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "README.md").write_text("# Demo service\n\nA fresh repository the orchestrator works on.\n")
        subprocess.run(["git", "-C", str(repo), "add", "README.md"], check=True)
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=Demo", "-c", "user.email=demo@example.invalid",
                        "commit", "-q", "-m", "Initial commit"], check=True)
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
    """The real bot (uvicorn + Bolt) in a background thread: used by the demo and the tests."""

    settings: Settings
    clock: Any = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    container: Any = None

    @property
    def url(self) -> str:
        assert self.server is not None
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 20.0) -> BotThread:
        from bot.app import build_container
        from bot.bolt import build_bolt_app
        from bot.server import build_asgi
        from bot.services.unit import system_clock

        self.container = build_container(self.settings, clock=self.clock or system_clock)
        asgi = build_asgi(self.container, build_bolt_app(self.container))
        config = uvicorn.Config(asgi, host=self.settings.host, port=self.settings.port, log_level="warning",
                                access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
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
        """Wait until the effects dispatcher has nothing due (bounded)."""
        asyncio.run(self.container.dispatcher.drain(timeout=timeout))


def run_sandbox(*, port: int, bot_port: int, workdir: Path = Path(".orch/sandbox")) -> None:
    from sandbox import Sandbox

    secret = secrets.token_hex(16)
    sb = Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN,
                 request_url=f"http://127.0.0.1:{bot_port}/slack/events", port=port)
    sb.start()
    settings = sandbox_settings(api_url=sb.api_url, bot_port=bot_port, workdir=workdir, signing_secret=secret)
    print(f"Sandbox workspace: {sb.base_url}  (bot on http://127.0.0.1:{bot_port}; Ctrl-C stops both)")
    from bot.runner import run_server

    try:
        run_server(settings)
    finally:
        sb.stop()


def run_demo(*, keep_running: bool = False, workdir: Path | None = None) -> int:
    from bot.demo import walkthrough

    return walkthrough(keep_running=keep_running, workdir=workdir)
