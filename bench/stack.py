"""The product under test: the sandbox (Slack's Web API) and `orch serve`, each its own process."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Proc, child_env, free_port, python

BOT_TOKEN = "xoxb-sandbox-local-bot-token"  # only valid against the local sandbox
APPROVERS = "U_APP1,U_APP2"


def git_env(workdir: Path) -> dict[str, str]:
    """Git in the children never reads this machine's configuration."""
    config = workdir / "gitconfig"
    config.write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = main\n"
    )
    return {"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1"}


def init_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    (path / "README.md").write_text("# Target service\n\nThe repository the orchestrator works on.\n")
    subprocess.run(["git", "-C", str(path), "add", "README.md"], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", "Initial commit"], check=True, env=env)
    return path


@dataclass
class Sandbox:
    workdir: Path
    secret: str
    proc: Proc | None = None
    api_url: str = ""

    @property
    def base_url(self) -> str:
        return self.api_url.removesuffix("/api/")

    def start(self) -> Sandbox:
        env = child_env(SLACK_SIGNING_SECRET=self.secret, SLACK_BOT_TOKEN=BOT_TOKEN)
        self.proc = Proc(
            "sandbox",
            python("-m", "sandbox", "--port", "0", "--page-size", "200"),
            env,
            self.workdir / "sandbox.log",
        ).start(stdout_pipe=True)
        line = self.proc.first_line()
        if "http" not in line:
            raise RuntimeError(f"the sandbox did not announce its URL: {line!r}")
        self.api_url = line.split()[-1]
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


@dataclass
class Stack:
    """The bot on SQLite with the sandbox as its Web API, in a fresh working directory.

    `split=True` (the layout for load, docs/DEPLOY.md): `orch serve --role web` answers Slack and
    `orch worker`, at a lower CPU priority (nice 10), does the work. `split=False`: one `orch serve`.
    """

    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    sandbox: Sandbox | None = None
    bot: Proc | None = None
    worker: Proc | None = None
    port: int = 0
    split: bool = True
    env: dict[str, str] = field(default_factory=dict)  # the bot processes' environment, once started

    @property
    def pids(self) -> tuple[int, ...]:
        """The bot's processes (web and worker when split)."""
        return tuple(p.pid for p in (self.bot, self.worker) if p is not None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def response_url(self) -> str:
        return self.sandbox.base_url + "/response/bench" if self.sandbox else ""

    @property
    def db_path(self) -> Path:
        return self.workdir / "orch.db"

    @property
    def repo(self) -> Path:
        return self.workdir / "repo"

    def start(self) -> Stack:
        try:
            return self._start()
        except BaseException:
            self.stop()  # a half-started stack must not leave its sandbox running
            raise

    def _start(self) -> Stack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        genv = git_env(self.workdir)
        init_repo(self.repo, child_env(**genv))
        self.sandbox = Sandbox(self.workdir, self.secret).start()
        self.port = free_port()
        env = child_env(
            **genv,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=self.secret,
            SLACK_API_URL=self.sandbox.api_url,
            ORCH_CONFIG=str(self.workdir / "no-orch.toml"),
            ORCH_DATABASE_URL=f"sqlite:///{self.db_path}",
            ORCH_REPO=str(self.repo),
            ORCH_APPROVERS=APPROVERS,
            ORCH_AGENT_BACKEND="offline",
            ORCH_HOST="127.0.0.1",
            ORCH_PORT=str(self.port),
            ORCH_LOG_LEVEL="WARNING",
        )
        env.update(self.extra_env)
        self.env = dict(env)
        serve = python("-m", "bot", "serve", *(["--role", "web"] if self.split else []))
        self.bot = Proc("orch serve", serve, env, self.workdir / "orch.log").start()
        self.bot.wait_http(f"http://127.0.0.1:{self.port}/healthz")
        if self.split:
            work = ["nice", "-n", "10", *python("-m", "bot", "worker")]
            env = {**env, "ORCH_LOG_LEVEL": "INFO"}  # to see "orch worker ready"
            self.worker = Proc("orch worker", work, env, self.workdir / "worker.log").start()
            self.worker.wait_log("orch worker ready")
        return self

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.bot is not None:
            self.bot.stop()
        if self.worker is not None:
            self.worker.stop()
        if self.sandbox is not None:
            self.sandbox.stop()
