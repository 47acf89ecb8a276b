"""The composition root: everything is built here from Settings, nothing at import time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit_key_source import load_keyring
from bot.config import Settings
from bot.deps import Deps
from bot.effects.dispatcher import EffectDispatcher
from bot.effects.port import Handler, WorkHandler
from bot.effects.retry import RetryPolicy
from bot.effects.table import build_table
from bot.redact import redact, redact_obj
from bot.services.authority import ApproverDirectory
from bot.services.goals import GoalService
from bot.services.unit import Clock, system_clock
from bot.slack_guard import GuardedWebClient, ShortRateLimitRetry, ShortRateLimitRetrySync
from bot.sop.effect_kinds import Build, Deliver, Merge
from storage.audit import bind_redactor
from storage.audit_keys import bind_keyring
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Effect

if TYPE_CHECKING:
    from bot.agents.manager import ImplementationManager
    from bot.forge.delivery import DeliveryEffects
    from bot.jobs.runtime import JobsRuntime
    from storage.inbox import Inbox

log = logging.getLogger(__name__)


@dataclass
class Container(Deps):
    """The dependencies and what the interfaces reach besides them, each a typed field."""

    jobs: JobsRuntime | None = None  # the scheduler side, started and stopped by the server's lifespan
    manager: ImplementationManager | None = None  # the Agents SDK implementer, when chosen
    delivery: DeliveryEffects | None = None  # pull requests on a Git host, when a remote is set
    inbox: Inbox | None = None  # the web/worker inbox, opened by the Bolt app


def _slack_clients(settings: Settings) -> tuple[AsyncWebClient | None, WebClient | None]:
    if settings.slack_bot_token is None:
        return None, None
    token = settings.slack_bot_token.get_secret_value()
    # aiohttp takes a fractional timeout, although slack_sdk's signature says int.
    timeout: Any = settings.slack_timeout
    async_client = GuardedWebClient(token=token, base_url=settings.slack_api_url, timeout=timeout)
    # A 429 is retried in place only for a short Retry-After; longer waits go back to the outbox (bot.slack_guard).
    async_client.retry_handlers.append(ShortRateLimitRetry(max_retry_count=3))
    sync_client = WebClient(token=token, base_url=settings.slack_api_url, timeout=15)
    sync_client.retry_handlers.append(ShortRateLimitRetrySync(max_retry_count=3))
    return async_client, sync_client


def build_container(settings: Settings, *, clock: Clock = system_clock, migrate: bool = True) -> Container:
    from bot.observability.tracing import configure_tracing

    configure_tracing(settings.otel)
    engine = make_engine(settings.database_url)
    # The audit key and the redactor reach storage from here only: storage never reads
    # configuration and knows nothing of what a secret looks like.
    bind_keyring(engine, load_keyring(settings))
    bind_redactor(redact, redact_obj)
    if migrate:
        upgrade(engine)
        from storage.deployment import deployment_id

        # Run records carry the deployment's id, so deployments sharing a folder read only their own.
        settings.bind_deployment(deployment_id(engine))
        from bot.observability.metrics import adopt_legacy_for

        try:
            adopt_legacy_for(engine, settings)  # once: what an older version kept in ./.runs
        except OSError:
            log.warning("could not read the old .runs folder of the working directory", exc_info=True)
    slack, slack_sync = _slack_clients(settings)

    def resolve_group(group: str) -> list[str]:
        if slack_sync is None:
            return []
        try:
            return list(slack_sync.usergroups_users_list(usergroup=group).get("users", []))
        except SlackApiError as exc:  # nobody is granted through a group Slack cannot list now
            log.warning("could not list approver group %s (%s)", group, exc.response.get("error"))
            return []

    directory = ApproverDirectory(
        users=frozenset(settings.approvers),
        groups=tuple(settings.approver_groups),
        resolve_group=resolve_group,
        repos={
            name: (frozenset(repo.approver_users), tuple(repo.approver_groups))
            for name, repo in settings.repos.items()
        },
    )
    dispatcher = EffectDispatcher(
        engine=engine,
        clock=clock,
        policy=RetryPolicy(
            cap=settings.effect_retry_max_wait,
            horizon=timedelta(hours=settings.effect_retry_hours),
            after_timeout=2 * settings.slack_timeout,
        ),
    )
    goals = GoalService(
        engine=engine,
        directory=directory,
        clock=clock,
        approvals_required=settings.approvals_required,
        allow_self_approval=settings.allow_self_approval,
        start_dedupe_seconds=settings.start_dedupe_seconds,
        kick=[dispatcher.kick],
        id_floor=_once(lambda: _repo_goal_floor(settings.repo)),
        repos=frozenset(settings.repos),
        channel_repos={ch: name for name, repo in settings.repos.items() for ch in repo.channels},
    )
    container = Container(settings, engine, clock, directory, goals, dispatcher, slack)
    from bot.observability.storage_health import Health

    health = Health()
    health.watch(engine)  # a write the database refuses makes /healthz answer 503 until one succeeds
    container.health = health
    dispatcher.install(build_table(_effect_handlers(container)))
    return container


def _once(fn: Any) -> Any:
    """`fn`'s first answer, kept: the repository's floor is read once per process (a restart after a
    lost database is when it matters), not on every start."""
    kept: list[Any] = []

    def call() -> Any:
        if not kept:
            kept.append(fn())
        return kept[0]

    return call


def _repo_goal_floor(repo: Any) -> int:
    """The highest goal number the target repository uses; 0 when it cannot be read (yet)."""
    from bot.repo.errors import GitError
    from bot.services.repair import highest_goal_number

    try:
        return highest_goal_number(repo)
    except (GitError, OSError, ValueError):
        return 0


def _effect_handlers(c: Container) -> dict[str, Handler]:
    """Every effect kind's handler, decided here once from settings (`bot.effects.table` checks
    that each kind has exactly one): the repository's work, wrapped for delivery to a Git host
    when a remote is set; the manager's build when it implements; Slack's messages, or nothing
    to post them to. The agent work (draft, build) is taken out of the table and handed to the jobs
    runtime, whose worker runs it."""
    from bot.effects.work_effects import WorkEffects
    from bot.jobs import install_jobs
    from bot.sop.effect_kinds import AGENT_KINDS, KINDS

    work = WorkEffects.from_container(c)
    handlers = work.handlers()
    if c.settings.repo_url:  # a remote repository: this process's clones, and its pull requests
        from bot.forge.delivery import build_delivery

        delivery = build_delivery(c)
        if delivery is not None:
            handlers = delivery.wrap(handlers, work, c.dispatcher)
            c.delivery = delivery
            c.ci_poller = delivery.poll_ci
    if c.delivery is None:
        handlers[Deliver.KIND] = nowhere  # nothing is delivered: the goal's branch is all there is
    if c.settings.implementer == "manager":
        from bot.agents.manager import ImplementationManager

        manager = ImplementationManager.from_container(c)
        if c.delivery is not None:  # each goal is built in its own clone, whose branch is delivered
            manager.repo_for = c.delivery.goal_root
        handlers.update(manager.handlers(merge=handlers[Merge.KIND]))
        if c.delivery is not None:  # its builds start from the remote, like the delivery's own
            handlers[Build.KIND] = c.delivery.wrap_build(handlers[Build.KIND])
        c.manager = manager
    messages = [kind for kind in KINDS if kind.startswith(("slack.", "notify."))]
    if c.slack is not None:
        handlers.update(_slack_handlers(c))
    else:
        # Without Slack (the CLI with no token), messages have nowhere to go: they are marked done.
        handlers.update(dict.fromkeys(messages, nowhere))
    # Agent work runs as jobs (scheduler, SLA reminders and digests come with them): the chosen
    # implementer's draft and build, whose handlers read only what a job has (`Work`).
    agent_work = {kind: cast(WorkHandler, handlers.pop(kind)) for kind in AGENT_KINDS}
    c.jobs = install_jobs(c, agent_work)
    return handlers


def _slack_handlers(c: Container) -> dict[str, Handler]:
    from bot.effects.slack_effects import SlackEffects
    from bot.jobs.notify import Notifier
    from bot.services.budgets import cost_line
    from bot.services.home import home_view

    assert c.slack is not None
    slack = SlackEffects(
        engine=c.engine,
        client=c.slack,
        directory=c.directory,
        clock=c.clock,
        tz=c.settings.timezone,
        approvals_required=c.settings.approvals_required,
        offline=c.offline,
        allow_self_approval=c.settings.allow_self_approval,
        approval_sla_hours=c.settings.approval_sla_hours,
        due_at=c.approval_due,
        home=lambda user: home_view(container=c, user=user),
        stop_button=c.settings.builder == "codex",
        cost_line=lambda goal: cost_line(c.settings, goal),
        streaming=c.settings.slack_streaming,
    )
    return {**slack.handlers(), **Notifier(c.slack).handlers()}


async def nowhere(_effect: Effect) -> None:
    """The handler of an effect with nowhere to go in this process: it is marked done."""
    return None
