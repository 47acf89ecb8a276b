"""One validated configuration, read from the environment and an optional `orch.toml`.

Environment variables win over the file. Secrets have no defaults; `orch serve` refuses to start
with a missing or placeholder secret (see `Settings.require_slack()`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.observability.usage import ModelPrice

PLACEHOLDERS = {"", "changeme", "change-me", "xoxb-your-token", "your-signing-secret", "todo", "xxx"}


class ConfigError(ValueError):
    """A configuration problem a person must fix; the message says what and how."""


SCHEDULER_TABLES = ("jobs", "sla", "digest")


def _toml_path() -> Path:
    return Path(os.environ.get("ORCH_CONFIG", "orch.toml"))


def is_clone_url(value: str) -> bool:
    """`https://…`, `ssh://…`, `file://…` or scp-like `git@host:owner/name.git`; not a local path."""
    if "://" in value:
        return value.split("://", 1)[0] in ("https", "http", "ssh", "git", "file")
    head, sep, _ = value.partition(":")
    return bool(sep) and "@" in head and "/" not in head


def clone_dir_name(url: str) -> str:
    """A folder name for a clone of `url`: its last two path parts (`acme+billing`), made safe."""
    path = url.split("://", 1)[1] if "://" in url else url.rpartition(":")[2]
    parts = [p.removesuffix(".git") for p in path.split("/") if p][-2:]
    name = "+".join(parts)
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in name).lstrip(".") or "repo"


REPO_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
Delivery = Literal["local", "pull_request", "push"]


class RepoSettings(BaseModel):
    """One repository of `[repos.<name>]` in orch.toml: where it is, how goals on it are delivered,
    who may approve them on top of the global approvers, and which channels use it by default."""

    model_config = ConfigDict(extra="forbid")

    url: str  # a clone URL (https://, ssh://, file://, git@host:owner/name.git) or a local path
    base: str | None = None  # None: the remote's default branch
    delivery: Delivery | None = None  # None: pull_request with a GitHub token, else push (local path: local)
    approvers: list[str] = Field(default_factory=list)  # user ids (U…/W…) and user groups (S…)
    channels: list[str] = Field(default_factory=list)
    api_url: str | None = None  # GitHub Enterprise Server or a stand-in; None: GITHUB_API_URL

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        return _no_credentials_in(value)

    @property
    def is_remote(self) -> bool:
        return is_clone_url(self.url)

    @property
    def approver_users(self) -> list[str]:
        return [a for a in self.approvers if not a.startswith("S")]

    @property
    def approver_groups(self) -> list[str]:
        return [a for a in self.approvers if a.startswith("S")]


def _no_credentials_in(value: str) -> str:
    # git would keep them in .git/config and print them in errors; the token has its own setting.
    if value and "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]:
        netloc = value.split("://", 1)[1].split("/", 1)[0]
        if ":" in netloc.split("@", 1)[0] or not value.startswith("ssh://"):
            raise ValueError(
                "the clone URL must not carry credentials; set the token in GITHUB_TOKEN instead"
            )
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)
    _deployment_id: str | None = PrivateAttr(default=None)

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("ORCH_HOST", "host"))
    port: int = Field(default=3000, ge=0, le=65535, validation_alias=AliasChoices("ORCH_PORT", "port"))
    database_url: str = Field(
        default="sqlite:///.orch/orch.db", validation_alias=AliasChoices("ORCH_DATABASE_URL", "database_url")
    )
    repo: Path = Field(default_factory=Path.cwd, validation_alias=AliasChoices("ORCH_REPO", "repo"))
    # Where the bot keeps files that are not state: the generated audit key, the last verified
    # audit head, its own clones of remote repositories. Default: the SQLite database's folder, or
    # `.orch` for another database.
    data_dir: Path | None = Field(default=None, validation_alias=AliasChoices("ORCH_DATA_DIR", "data_dir"))
    # The audit chain's HMAC key (see bot/audit_key_source.py); without one a key is generated into
    # `data_dir`. Older keys stay listed (comma-separated) so entries they signed still verify.
    audit_key: SecretStr | None = Field(default=None, validation_alias="ORCH_AUDIT_KEY")
    audit_previous_keys: SecretStr | None = Field(default=None, validation_alias="ORCH_AUDIT_PREVIOUS_KEYS")
    approvers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("ORCH_APPROVERS", "approvers")
    )
    approver_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("ORCH_APPROVER_GROUPS", "approver_groups")
    )
    allow_self_approval: bool = Field(
        default=False, validation_alias=AliasChoices("ORCH_ALLOW_SELF_APPROVAL", "allow_self_approval")
    )
    approvals_required: int = Field(
        default=1, ge=1, le=10, validation_alias=AliasChoices("ORCH_APPROVALS_REQUIRED", "approvals_required")
    )
    # How long an artifact may wait for its decision once posted; the card shows the due time.
    approval_sla_hours: float = Field(
        default=4.0,
        gt=0,
        le=24 * 30,
        validation_alias=AliasChoices("ORCH_APPROVAL_SLA_HOURS", "approval_sla_hours"),
    )
    # How long the outbox keeps retrying an effect that fails for a transient reason (Slack or the
    # repository down), counted from its first failure; then it fails and the goal's thread is told.
    effect_retry_hours: float = Field(
        default=6.0,
        gt=0,
        le=24 * 7,
        validation_alias=AliasChoices("ORCH_EFFECT_RETRY_HOURS", "effect_retry_hours"),
    )
    # The longest wait between two retries of one effect (the backoff doubles up to it).
    effect_retry_max_wait: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        validation_alias=AliasChoices("ORCH_EFFECT_RETRY_MAX_WAIT", "effect_retry_max_wait"),
    )
    # Seconds the Slack Web API client waits for an answer before it gives up on a call.
    slack_timeout: float = Field(
        default=15.0, gt=0, le=300, validation_alias=AliasChoices("ORCH_SLACK_TIMEOUT", "slack_timeout")
    )
    agent_backend: Literal["offline", "openai"] | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_AGENT_BACKEND", "agent_backend")
    )
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    drafter_model: str = Field(
        default="gpt-5.5", validation_alias=AliasChoices("ORCH_DRAFTER_MODEL", "drafter_model")
    )
    openai_api: Literal["responses", "chat_completions"] = Field(
        default="responses", validation_alias=AliasChoices("ORCH_OPENAI_API", "openai_api")
    )
    # A model call that hangs must not hold a draft for long: each HTTP call to the model is cut
    # off after `model_timeout`, and one draft (every call and turn of it) after `draft_deadline`.
    model_timeout: float = Field(
        default=120.0, gt=0, validation_alias=AliasChoices("ORCH_MODEL_TIMEOUT", "model_timeout")
    )
    draft_deadline: float = Field(
        default=300.0, gt=0, validation_alias=AliasChoices("ORCH_DRAFT_DEADLINE", "draft_deadline")
    )
    # SIGTERM: stop accepting, give requests, effects and jobs in flight this long, then exit 0.
    shutdown_grace: float = Field(
        default=30.0, ge=0, validation_alias=AliasChoices("ORCH_SHUTDOWN_GRACE", "shutdown_grace")
    )
    timezone: str = Field(default="UTC", validation_alias=AliasChoices("ORCH_TIMEZONE", "timezone"))
    max_parallel_jobs: int = Field(
        default=10, ge=1, le=200, validation_alias=AliasChoices("ORCH_MAX_PARALLEL_JOBS", "max_parallel_jobs")
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("ORCH_LOG_LEVEL", "log_level"))
    # OpenTelemetry traces (bot.observability.tracing): off unless asked for.
    otel: Literal["off", "console", "otlp"] = Field(
        default="off", validation_alias=AliasChoices("ORCH_OTEL", "otel")
    )
    git_name: str = Field(
        default="Codex Orchestrator", validation_alias=AliasChoices("ORCH_GIT_NAME", "git_name")
    )
    git_email: str = Field(
        default="orch-bot@users.noreply.local", validation_alias=AliasChoices("ORCH_GIT_EMAIL", "git_email")
    )
    # Git that recovers (bot/repo/git.py, bot/repo/stale_locks.py, bot/repo/health.py): every git
    # command's time limit; the age after which a git lock file nobody runs git for is removed; how
    # often an effect waiting for a person to repair the repository looks again.
    git_timeout_seconds: float = Field(
        default=120.0, gt=0, validation_alias=AliasChoices("ORCH_GIT_TIMEOUT_SECONDS", "git_timeout_seconds")
    )
    git_stale_lock_seconds: float = Field(
        default=30.0,
        ge=0,
        validation_alias=AliasChoices("ORCH_GIT_STALE_LOCK_SECONDS", "git_stale_lock_seconds"),
    )
    repo_recheck_seconds: float = Field(
        default=15.0,
        gt=0,
        validation_alias=AliasChoices("ORCH_REPO_RECHECK_SECONDS", "repo_recheck_seconds"),
    )
    # Implementation: who writes the code (bot/agents/implement.py), where run records go (bot/observability/runs.py).
    # None: Codex whenever its CLI is installed and a model provider is configured (`_pick_builder`).
    builder: Literal["offline", "codex"] | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_BUILDER", "builder")
    )
    codex_bin: str | None = Field(default=None, validation_alias=AliasChoices("ORCH_CODEX_BIN", "codex_bin"))
    codex_provider_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_CODEX_PROVIDER_URL", "codex_provider_url")
    )
    codex_model: str = Field(
        default="gpt-5.5", validation_alias=AliasChoices("ORCH_CODEX_MODEL", "codex_model")
    )
    codex_timeout: float = Field(
        default=900.0, gt=0, validation_alias=AliasChoices("ORCH_CODEX_TIMEOUT", "codex_timeout")
    )
    # A running build's events also stream into a live log in the thread (Slack's streaming messages,
    # chat.startStream / appendStream / stopStream); a workspace without them falls back to chat.update.
    slack_streaming: bool = Field(
        default=False, validation_alias=AliasChoices("ORCH_SLACK_STREAMING", "slack_streaming")
    )
    # Give a build's Codex this product's MCP tools (`orch mcp`: read goals and the audit trail).
    codex_mcp: bool = Field(default=False, validation_alias=AliasChoices("ORCH_CODEX_MCP", "codex_mcp"))
    # How long a Codex approval request waits in the thread for an approver before it counts as denied.
    codex_approval_timeout: float = Field(
        default=600.0,
        gt=0,
        validation_alias=AliasChoices("ORCH_CODEX_APPROVAL_TIMEOUT", "codex_approval_timeout"),
    )
    # Per model, US dollars per million tokens: {"gpt-5.5": {"input": 1.25, "cached_input": 0.125,
    # "output": 10.0}} (`[prices."gpt-5.5"]` in orch.toml); `orch runs usage` prices runs with it.
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, validation_alias=AliasChoices("ORCH_PRICES", "prices")
    )
    # US dollars of model usage a goal may spend (priced from `prices`) before its agent work pauses
    # and an approver is asked to raise it or stop; `/orch start --budget 5 …` sets one goal's.
    # None: no budget. A warning goes to the thread at `budget_warn_ratio` of it.
    goal_budget: float | None = Field(
        default=None, gt=0, validation_alias=AliasChoices("ORCH_GOAL_BUDGET", "goal_budget")
    )
    budget_warn_ratio: float = Field(
        default=0.8, gt=0, lt=1, validation_alias=AliasChoices("ORCH_BUDGET_WARN_RATIO", "budget_warn_ratio")
    )
    manager_model: str = Field(
        default="gpt-5.5", validation_alias=AliasChoices("ORCH_MANAGER_MODEL", "manager_model")
    )
    reviewer_model: str = Field(
        default="gpt-5.5", validation_alias=AliasChoices("ORCH_REVIEWER_MODEL", "reviewer_model")
    )
    test_command: str | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_TEST_COMMAND", "test_command")
    )
    test_timeout: float = Field(
        default=300.0, gt=0, validation_alias=AliasChoices("ORCH_TEST_TIMEOUT", "test_timeout")
    )
    # Run records (bot/observability/runs.py). Unset: the target repository's `.runs/` (git-ignored); a relative
    # path is taken from the target repository too, never from the process's working directory.
    runs_dir: Path | None = Field(default=None, validation_alias=AliasChoices("ORCH_RUNS_DIR", "runs_dir"))
    # An approved artifact goes stale this long after its last review (the spec guard's limit), and
    # its approvers are reminded this many days before (0: no freshness reminders).
    freshness_max_age_days: int = Field(
        default=30,
        ge=1,
        validation_alias=AliasChoices("ORCH_FRESHNESS_MAX_AGE_DAYS", "freshness_max_age_days"),
    )
    # The SSH private key the bot signs its commits with (`orch signing init` makes one and lists its
    # public key in the repository's .orch/allowed_signers). None: commits are not signed.
    signing_key: Path | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_SIGNING_KEY", "signing_key")
    )
    freshness_reminder_days: int = Field(
        default=7,
        ge=0,
        validation_alias=AliasChoices("ORCH_FRESHNESS_REMINDER_DAYS", "freshness_reminder_days"),
    )
    # The HTTP front door's deadlines: a request's headers, then its body, must arrive within these
    # seconds or the connection is closed (a slow sender must not hold a connection for ever).
    http_header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        validation_alias=AliasChoices("ORCH_HTTP_HEADER_TIMEOUT", "http_header_timeout"),
    )
    http_body_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        validation_alias=AliasChoices("ORCH_HTTP_BODY_TIMEOUT", "http_body_timeout"),
    )
    # The same `/orch start` text from the same person in the same channel within this many seconds
    # starts one goal; a second one needs the person's "Start another". 0 turns the check off.
    start_dedupe_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        validation_alias=AliasChoices("ORCH_START_DEDUPE_SECONDS", "start_dedupe_seconds"),
    )
    # Who an MCP client acts as: every MCP tool call runs, and is audited, as this principal.
    mcp_principal: str = Field(
        default="mcp:operator",
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9_.:@-]+$",
        validation_alias=AliasChoices("ORCH_MCP_PRINCIPAL", "mcp_principal"),
    )
    # A goal approved for full access still runs Codex over MCP with workspace-write, unless this is on.
    mcp_allow_full_access: bool = Field(
        default=False, validation_alias=AliasChoices("ORCH_MCP_ALLOW_FULL_ACCESS", "mcp_allow_full_access")
    )
    # Who carries out a task: "direct" runs the builder once per diff (bot/agents/implement.py);
    # "manager" runs the builder → tester → reviewer manager that pauses for the diff's approval
    # (bot/agents/manager.py). It needs a model, so it is the default only with the openai backend.
    implementer: Literal["direct", "manager"] | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_IMPLEMENTER", "implementer")
    )
    # Delivery to a Git host (bot/forge). A clone URL in ORCH_REPO lands in `repo_url`; the process
    # then works in its own clone under `data_path` (`repo` points there).
    repo_url: str | None = Field(default=None, validation_alias=AliasChoices("ORCH_REPO_URL", "repo_url"))
    repo_base: str | None = Field(default=None, validation_alias=AliasChoices("ORCH_REPO_BASE", "repo_base"))
    delivery: Delivery | None = Field(
        default=None, validation_alias=AliasChoices("ORCH_DELIVERY", "delivery")
    )
    # More repositories, by name (`[repos.billing]` in orch.toml); see RepoSettings.
    repos: dict[str, RepoSettings] = Field(
        default_factory=dict, validation_alias=AliasChoices("ORCH_REPOS", "repos")
    )
    # Where no webhook reaches the bot, how often CI results of open goal branches are fetched
    # (seconds; 0: never, webhooks only).
    ci_poll_seconds: float = Field(
        default=60.0, ge=0, le=3600, validation_alias=AliasChoices("ORCH_CI_POLL_SECONDS", "ci_poll_seconds")
    )
    github_token: SecretStr | None = Field(default=None, validation_alias="GITHUB_TOKEN")
    github_api_url: str = Field(default="https://api.github.com", validation_alias="GITHUB_API_URL")
    github_webhook_secret: SecretStr | None = Field(default=None, validation_alias="GITHUB_WEBHOOK_SECRET")
    # A GitHub App instead of (or over) GITHUB_TOKEN: its id and private key (PEM text, or a file).
    github_app_id: int | None = Field(default=None, gt=0, validation_alias="GITHUB_APP_ID")
    github_app_private_key: SecretStr | None = Field(default=None, validation_alias="GITHUB_APP_PRIVATE_KEY")
    github_app_private_key_path: Path | None = Field(
        default=None, validation_alias="GITHUB_APP_PRIVATE_KEY_PATH"
    )
    merge_method: Literal["merge", "squash", "rebase"] = Field(
        default="merge", validation_alias=AliasChoices("ORCH_MERGE_METHOD", "merge_method")
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_toml_path()),
            file_secret_settings,
        )

    # The `[jobs]`, `[sla]` and `[digest]` tables of orch.toml as written (no environment variable
    # sets them): the jobs runtime parses and checks them into its `SchedulerConfig`
    # (bot/jobs/config.py), so the file is read once, here.
    scheduler_tables: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _scheduler_tables(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            data["scheduler_tables"] = {k: data.pop(k) for k in SCHEDULER_TABLES if k in data}
        return data

    @model_validator(mode="before")
    @classmethod
    def _repo_as_url(cls, data: Any) -> Any:
        """`ORCH_REPO` may be a clone URL: it becomes `repo_url`, and `repo` the process's own clone."""
        if not isinstance(data, dict):
            return data
        for key in ("repo", "ORCH_REPO"):
            value = data.get(key)
            if isinstance(value, str) and is_clone_url(value):
                data = {k: v for k, v in data.items() if k != key}
                data.setdefault("repo_url", value)
        return data

    @field_validator("repo_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        return _no_credentials_in(value) if value else value

    @field_validator("repos")
    @classmethod
    def _repo_names(cls, value: dict[str, RepoSettings]) -> dict[str, RepoSettings]:
        for name in value:
            if not REPO_NAME.match(name):
                raise ValueError(
                    f"repository name {name[:50]!r}: use lower-case letters, digits, '-', '_' or '.' (at most 40)"
                )
        claimed: dict[str, str] = {}
        for name, repo in value.items():
            for channel in repo.channels:
                if channel in claimed:
                    raise ValueError(
                        f"channel {channel} is the default of both {claimed[channel]} and {name}"
                    )
                claimed[channel] = name
        return value

    @property
    def github_auth(self) -> bool:
        """A token or a GitHub App: the bot can call GitHub's API."""
        return bool(self.github_token) or self.github_app_id is not None

    @model_validator(mode="after")
    def _github_app(self) -> Settings:
        key, path = self.github_app_private_key, self.github_app_private_key_path
        if path is not None and key is None:
            try:
                self.github_app_private_key = key = SecretStr(path.expanduser().read_text())
            except OSError as exc:
                raise ValueError(
                    f"GITHUB_APP_PRIVATE_KEY_PATH: cannot read the key file ({exc.strerror})"
                ) from None
        if key is not None:
            text = key.get_secret_value().replace("\\n", "\n").strip()  # one-line env values
            if "PRIVATE KEY-----" not in text:
                raise ValueError(
                    "GITHUB_APP_PRIVATE_KEY is not a PEM private key (-----BEGIN RSA PRIVATE KEY-----…)"
                )
            self.github_app_private_key = SecretStr(text + "\n")
        if (self.github_app_id is None) != (key is None):
            raise ValueError(
                "a GitHub App needs both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_PATH)"
            )
        return self

    @model_validator(mode="after")
    def _pick_delivery(self) -> Settings:
        if self.repo_url is not None and "repo" not in self.model_fields_set:
            self.repo = (self.data_path / "repos" / clone_dir_name(self.repo_url) / "clone").resolve()
        if self.delivery is None:
            self.delivery = "pull_request" if self.repo_url and self.github_auth else "local"
        if self.delivery == "pull_request" and not (self.repo_url and self.github_auth):
            raise ValueError(
                "delivery = pull_request needs a clone URL (ORCH_REPO or ORCH_REPO_URL) and GITHUB_TOKEN"
                " (or a GitHub App: GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)"
            )
        if self.delivery == "push" and not self.repo_url:
            raise ValueError("delivery = push needs a clone URL (ORCH_REPO or ORCH_REPO_URL)")
        for name, repo in self.repos.items():
            if repo.delivery is None:
                repo.delivery = (
                    ("pull_request" if self.github_auth else "push") if repo.is_remote else "local"
                )
            if repo.delivery != "local" and not repo.is_remote:
                raise ValueError(f"repos.{name}: delivery = {repo.delivery} needs a clone URL, not a path")
            if repo.delivery == "pull_request" and not self.github_auth:
                raise ValueError(
                    f"repos.{name}: delivery = pull_request needs GITHUB_TOKEN (or a GitHub App)"
                )
        return self

    def repo_for_channel(self, channel_id: str | None) -> str | None:
        """The configured repository whose `channels` list this channel, if any."""
        for name, repo in self.repos.items():
            if channel_id and channel_id in repo.channels:
                return name
        return None

    @field_validator("approvers", "approver_groups", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from exc
        return value

    @model_validator(mode="after")
    def _pick_backend(self) -> Settings:
        if self.agent_backend is None:
            self.agent_backend = "openai" if self.openai_api_key else "offline"
        return self

    @model_validator(mode="after")
    def _pick_builder(self) -> Settings:
        if self.builder is None:
            from bot.codex.binary import find_codex  # light: os and shutil only

            self.builder = "codex" if self.codex_provider() and find_codex(self.codex_bin) else "offline"
        return self

    def codex_provider(self) -> str | None:
        """The Responses API endpoint Codex talks to: its own URL, else `OPENAI_BASE_URL`, else OpenAI's
        when there is a key; None when no model provider is configured."""
        if self.codex_provider_url:
            return self.codex_provider_url
        if self.openai_base_url:
            return self.openai_base_url
        return "https://api.openai.com/v1" if self.openai_api_key else None

    @model_validator(mode="after")
    def _pick_implementer(self) -> Settings:
        if self.implementer is None:
            # The backend default is worked out again here, so validator order does not matter.
            openai = (self.agent_backend or ("openai" if self.openai_api_key else "offline")) == "openai"
            self.implementer = "manager" if openai else "direct"
        return self

    @property
    def runs_path(self) -> Path:
        """Where this deployment's run records live (see `runs_dir`)."""
        if self.runs_dir is None:
            return Path(self.repo) / ".runs"
        return self.runs_dir if self.runs_dir.is_absolute() else Path(self.repo) / self.runs_dir

    @property
    def deployment_id(self) -> str | None:
        """The database's deployment id once the composition root bound it (run records carry it)."""
        return self._deployment_id

    def bind_deployment(self, deployment_id: str) -> None:
        self._deployment_id = deployment_id

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def data_path(self) -> Path:
        """`data_dir`, or the SQLite database's folder, or `.orch`."""
        if self.data_dir is not None:
            return self.data_dir
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).parent
        return Path(".orch")

    @property
    def backend(self) -> str:
        """The drafting backend actually in use (`agent_backend` after the default is applied)."""
        return self.agent_backend or "offline"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack(self) -> None:
        """Refuse to serve with missing or placeholder Slack secrets; name the variable to set."""
        problems = []
        for name, value in (
            ("SLACK_BOT_TOKEN", self.slack_bot_token),
            ("SLACK_SIGNING_SECRET", None if self.socket_mode else self.slack_signing_secret),
        ):
            if name == "SLACK_SIGNING_SECRET" and self.socket_mode:
                continue
            if value is None:
                problems.append(f"{name} is not set")
            elif value.get_secret_value().strip().lower() in PLACEHOLDERS:
                problems.append(f"{name} holds a placeholder value")
        token = self.slack_bot_token.get_secret_value() if self.slack_bot_token else ""
        if token and not token.startswith("xoxb-") and token.lower() not in PLACEHOLDERS:
            problems.append("SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-)")
        if self.slack_app_token and not self.slack_app_token.get_secret_value().startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must be an app-level token (it starts with xapp-)")
        if problems:
            raise ConfigError("; ".join(problems) + ". See README, 'Connect to a real Slack workspace'.")

    def describe(self) -> dict[str, str]:
        """A printable view of the configuration with every secret masked."""
        out: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if isinstance(getattr(self, name), SecretStr):
                out[name] = "set (hidden)"
            elif value is None:
                out[name] = "unset"
            else:
                out[name] = str(value)
        return out


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValueError as exc:
        from bot.redact import redact  # pydantic repeats the input, which may hold a secret

        raise ConfigError(redact(str(exc))) from None


def setting(settings: object, name: str) -> Any:
    """One setting, by its `Settings` name, from `settings` or from a stand-in that declares only
    some (the model clients take any settings-like object, and tools and tests pass small ones).
    What a stand-in leaves out takes the default `Settings` declares, so each default is written
    once, here; a derived setting (a property such as `backend`) is None then."""
    if isinstance(settings, Settings) or hasattr(settings, name):
        return getattr(settings, name)
    field = Settings.model_fields.get(name)
    return None if field is None else field.get_default(call_default_factory=True)


def secret_value(value: object) -> str | None:
    """The plain text of a secret setting (a SecretStr, or a str from a stand-in); None when unset."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return str(value) if value else None
