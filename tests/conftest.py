"""Shared fixtures: an isolated git identity, a fresh target repo, and the live bot against the sandbox."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from bot.local.stack import SANDBOX_BOT_TOKEN, BotThread
from bot.redact import redact, redact_obj
from bot.repo.git import Git, ensure_repo
from sandbox import Sandbox
from storage.audit import bind_redactor
from tests.support.databases import migrated_database

# Tests that append to the audit log without building the app redact as the app does.
bind_redactor(redact, redact_obj)

POSTGRES_URL = os.environ.get("ORCH_TEST_POSTGRES_URL")


@pytest.fixture(scope="session", autouse=True)
def _session_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Before any fixture of any scope: a neutral git identity and run records outside the checkout."""
    home = tmp_path_factory.mktemp("session-home")
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Test Person\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n")
    saved = dict(os.environ)
    os.environ.update({"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
                       "ORCH_RUNS_DIR": str(home / "runs")})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The machine's git config never leaks into a test; commits get a neutral identity."""
    home = tmp_path_factory.mktemp("home")
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Test Person\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("ORCH_RUNS_DIR", str(home / "runs"))  # run records stay out of the checkout
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "OPENAI_API_KEY", "ORCH_CONFIG",
                 "ORCH_FAULT", "ORCH_AGENT_BACKEND", "ORCH_APPROVERS", "ORCH_DATABASE_URL", "ORCH_REPO",
                 "ORCH_IMPLEMENTER", "ORCH_BUILDER", "OPENAI_BASE_URL", "ORCH_CODEX_PROVIDER_URL", "ORCH_CODEX_BIN",
                 "GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_WEBHOOK_SECRET", "ORCH_REPO_URL", "ORCH_DELIVERY",
                 "ORCH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("# Target service\n")
    subprocess.run(["git", "-C", str(path), "add", "README.md"], check=True)
    subprocess.run(["git", "-C", str(path), "-c", "user.name=Test Person", "-c", "user.email=test@example.invalid",
                    "commit", "-q", "-m", "Initial commit"], check=True)
    return path


@pytest.fixture
def target_repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo")


@pytest.fixture
def git(tmp_path: Path) -> Git:
    """The bot's view of a fresh repository at `tmp_path / "repo"` (made by `ensure_repo`)."""
    return ensure_repo(tmp_path / "repo", init_if_missing=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database, once on SQLite and once on PostgreSQL (skipped without
    ORCH_TEST_POSTGRES_URL), dropped afterwards."""
    with migrated_database(request, tmp_path, request.param) as (eng, _url):
        yield eng


def make_settings(tmp_path: Path, repo: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'orch.db'}",
        "repo": repo,
        "approvers": ["U_APP1", "U_APP2"],
        "agent_backend": "offline",
        # Codex is the default builder wherever its CLI and a model provider are found; tests that
        # want it say builder="codex" (and point it at the scripted Responses server).
        "builder": "offline",
        "port": 0,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(tmp_path: Path, target_repo: Path) -> Settings:
    return make_settings(tmp_path, target_repo)


@dataclass
class Live:
    """The real bot over real HTTP against the sandbox; drive it the way people use Slack."""

    sb: Sandbox
    bot: BotThread
    settings: Settings

    @property
    def container(self) -> Any:
        return self.bot.container

    @property
    def repo(self) -> Path:
        return Path(self.settings.repo)

    def decide_all(self, user: str, card_ts: str, channel: str = "C_DEV", limit: int = 20) -> int:
        """Click Approve on each artifact as it arrives until the goal is done; return the clicks."""
        for clicks in range(limit):
            found = self.sb.wait_for(
                lambda: "done" if any("is done:" in m.text for m in self.sb.thread(channel, card_ts))
                else self.sb.find_message(channel, thread_ts=card_ts, button="Approve"),
                timeout=30, what="an artifact to approve or the goal to finish",
            )
            if found == "done":
                return clicks
            self.sb.click(user, found, "Approve")
            # The decision replaces the buttons in place; wait for that before looking again.
            self.sb.wait_for(lambda m=found: "Approve" not in self.sb.buttons(self.sb.message(channel, m.ts)),
                             timeout=30, what="the decision to replace the buttons")
        raise AssertionError(f"the goal did not finish after {limit} approvals")

    def git_log(self) -> list[str]:
        """Every line of every commit message: a batch commit (`orch: publish N changes`) names each
        step it holds on a line of its own."""
        out = subprocess.run(["git", "-C", str(self.repo), "log", "--format=%B"], capture_output=True, text=True,
                             check=True).stdout
        return [line for line in out.splitlines() if line.strip()]


def start_live(tmp_path: Path, repo: Path, clock: Any = None, **overrides: Any) -> Live:
    secret = secrets.token_hex(16)
    sb = Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN).start()
    settings = make_settings(tmp_path, repo, slack_bot_token=SANDBOX_BOT_TOKEN, slack_signing_secret=secret,
                             slack_api_url=sb.api_url, **overrides)
    bot = BotThread(settings, clock=clock).start()
    sb.request_url = f"{bot.url}/slack/events"
    return Live(sb=sb, bot=bot, settings=settings)


@pytest.fixture
def live(tmp_path: Path, target_repo: Path) -> Iterator[Live]:
    running = start_live(tmp_path, target_repo)
    try:
        yield running
    finally:
        running.bot.stop()
        running.sb.stop()


@pytest.fixture(scope="module")
def shared_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One live bot for a whole module, for tests that only read or are refused (faster)."""
    base = tmp_path_factory.mktemp("shared-live")
    running = start_live(base, init_repo(base / "repo"))
    try:
        yield running
    finally:
        running.bot.stop()
        running.sb.stop()


@pytest.fixture
def postgres_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("ORCH_TEST_POSTGRES_URL is not set (CI sets it; e.g. postgresql://root@127.0.0.1:5432/test)")
    return POSTGRES_URL
