"""`/orch <subcommand>`: ack at once, then call a service. Unknown input gets the help, ephemerally."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.deps import Deps
from bot.manifest_facts import ORCH_COMMAND
from bot.services.budgets import parse_budget
from bot.services.errors import DuplicateStart, ServiceError
from bot.services.goals import MAX_BRIEF
from bot.services.unit import Actor
from bot.sop.phases import LABELS, Phase
from handlers.commands import digest, learn, retry, review
from handlers.commands.slash import Slash
from handlers.common import call, open_modal

if TYPE_CHECKING:
    from storage.models import Goal

log = logging.getLogger(__name__)


def split_repo_option(text: str) -> tuple[str | None, str]:
    """`--repo billing <brief>` (or `--repo=billing`) → ("billing", "<brief>"); ("", …) when the name
    is missing; (None, text) without the option."""
    head, _, rest = text.partition(" ")
    if head == "--repo":
        name, _, brief = rest.strip().partition(" ")
        return name.strip(), brief.strip()
    if head.startswith("--repo="):
        return head.removeprefix("--repo=").strip(), rest.strip()
    return None, text


def goal_line(goal: Goal) -> str:
    state = goal.state if goal.state != "active" else goal.status.replace("_", " ")
    return f"*{goal.id}* {goal.title} — {LABELS[Phase(goal.phase)]}, {state}"


Reply = Callable[[str], Awaitable[Any]]
Subcommand = Callable[[Slash], Awaitable[None]]


async def answer_later(ack: AsyncAck, respond: AsyncRespond) -> Reply:
    """Ack at once and answer through the response_url. A read may wait behind writers on a busy
    database; Slack's 3 s window for the ack must not (the bench saw `/orch status` acks time out
    under 1,000 requests/s when the read came before the ack)."""
    await ack()

    async def reply(text: str) -> None:
        await respond(text=text, response_type="ephemeral")

    return reply


def goal_usage_line(deps: Deps, goal_id: str) -> str:
    """ "\nUsage: …" (tokens of the goal's agent runs and their cost), or "" before any run reported usage."""
    from bot.observability.runs import runs_dir_for
    from bot.observability.usage import goal_usage
    from bot.services.budgets import standing

    used = goal_usage(runs_dir_for(deps.settings), goal_id, deps.settings.prices)
    line = f"\nUsage: {used.line().split(': ', 1)[1]}" if used.runs else ""
    state = standing(deps.goals, deps.settings, goal_id)
    if state.budget is not None:
        line += f"\nBudget: {state.line()}"
    return line


async def start(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    brief: str,
    deps: Deps,
) -> None:
    if not brief:
        await ack()
        metadata = json.dumps({"channel": command["channel_id"]})
        default = await call(deps.goals.repo_for_start, repo=None, channel_id=command["channel_id"])
        await open_modal(
            client,
            trigger_id=command["trigger_id"],
            user=command["user_id"],
            channel=command["channel_id"],
            view=builders.build_start_modal(
                # One repository to choose from is no choice: the note names where the goal goes.
                repos=sorted(deps.goals.repos) if len(deps.goals.repos) > 1 else [default] if default else [],
                default_channel=command["channel_id"],
                private_metadata=metadata,
                default_repo=default,
            ),
        )
        return
    repo, brief = split_repo_option(brief)
    if repo == "":
        await ack("Say which repository: `/orch start --repo <name> <brief>`.")
        return
    if len(brief) > MAX_BRIEF:
        await ack(f"The brief is {len(brief)} characters; keep it under {MAX_BRIEF}.")
        return
    budget = None
    if brief.startswith("--budget"):  # `/orch start --budget 5 <brief>`: this goal's budget in USD
        _flag, _, rest = brief.partition(" ")
        amount, _, brief = rest.strip().partition(" ")
        try:
            budget = parse_budget(amount)
        except ServiceError as exc:
            await ack(f"{exc} Say it as `/orch start --budget 5 <brief>`.")
            return
        brief = brief.strip()
        if repo is None:  # `--budget 5 --repo billing <brief>`
            repo, brief = split_repo_option(brief)
        if not brief or repo == "":
            await ack("Say what to build after the budget: `/orch start --budget 5 <brief>`.")
            return
    await ack()
    try:
        await call(
            deps.goals.start_goal,
            brief=brief,
            actor=Actor(command["user_id"]),
            channel_id=command["channel_id"],
            source="slash",
            repo=repo,
            budget_usd=budget,
        )
    except DuplicateStart as exc:
        # One goal unless the person says otherwise: the same text again is most often a repeat.
        blocks, text = builders.build_duplicate_start(str(exc), exc.goal_id)
        await respond(text=text, blocks=blocks, response_type="ephemeral")
    except ServiceError as exc:
        await respond(text=str(exc), response_type="ephemeral")


async def status(ack: Reply, command: dict[str, Any], arg: str, deps: Deps) -> None:
    if arg:
        try:
            goal = await call(deps.goals.get, goal_id=arg.upper())
        except ServiceError as exc:
            await ack(str(exc))
            return
        usage = await call(goal_usage_line, deps=deps, goal_id=goal.id)
        await ack(f"{goal_line(goal)}\nRequested by <@{goal.requester}> · mode {goal.mode}{usage}")
        return
    mine = await call(deps.goals.list, requester=command["user_id"], active_only=True, limit=10)
    if not mine:
        await ack("You have no goals in progress. Start one with `/orch start <brief>`.")
        return
    await ack("Your goals in progress:\n" + "\n".join(goal_line(g) for g in mine))


async def list_goals(ack: Reply, command: dict[str, Any], arg: str, deps: Deps) -> None:
    if arg == "mine":
        found = await call(deps.goals.list, requester=command["user_id"], limit=20)
        title = "Your goals"
    else:
        found = await call(deps.goals.list, channel_id=command["channel_id"], limit=20)
        title = "Goals in this channel"
    if not found:
        await ack(f"{title}: none yet. Start one with `/orch start <brief>`.")
        return
    await ack(f"{title}:\n" + "\n".join(goal_line(g) for g in found))


async def cancel(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, arg: str, deps: Deps) -> None:
    if not arg:
        await ack("Which goal? `/orch cancel G-0001`")
        return
    await ack()
    try:
        goal = await call(deps.goals.cancel, goal_id=arg.upper(), actor=Actor(command["user_id"]))
    except ServiceError as exc:
        await respond(text=str(exc), response_type="ephemeral")
        return
    await respond(text=f"{goal.id} is cancelled.", response_type="ephemeral")


async def approvers(ack: Reply, deps: Deps) -> None:
    found = await call(deps.directory.approvers)
    if not found:
        await ack("No approvers are configured (ORCH_APPROVERS), so no gate can be approved yet.")
        return
    await ack("Approvers: " + ", ".join(f"<@{u}>" for u in sorted(found)))


async def repo_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, arg: str, deps: Deps
) -> None:
    from bot.services.repos import use_repo

    sub, _, name = arg.partition(" ")
    channel = command["channel_id"]
    if sub.lower() == "use" and name.strip():
        await ack()
        try:
            chosen = await call(
                use_repo,
                engine=deps.engine,
                clock=deps.clock,
                repos=deps.goals.repos,
                channel_id=channel,
                name=name,
                actor=Actor(command["user_id"]),
            )
        except ServiceError as exc:
            await respond(text=str(exc), response_type="ephemeral")
            return
        await respond(
            text=f"Goals started in this channel now use the repository `{chosen}`.",
            response_type="ephemeral",
        )
        return
    if sub:
        await ack("Usage: `/orch repo` (which repository this channel uses) or `/orch repo use <name>`.")
        return
    await ack()
    current = await call(deps.goals.repo_for_start, repo=None, channel_id=channel)
    known = ", ".join(f"`{n}`" for n in sorted(deps.goals.repos)) or "none (only ORCH_REPO)"
    used = f"`{current}`" if current else "the deployment's ORCH_REPO"
    await respond(text=f"Goals started here use {used}. Repositories: {known}.", response_type="ephemeral")


async def orch(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, deps: Deps
) -> None:
    """`/orch <subcommand>`: the built-in ones here, the others from their own modules (`EXTRA`)."""
    text = (command.get("text") or "").strip()
    sub, _, rest = text.partition(" ")
    sub, rest = sub.lower(), rest.strip()
    if sub == "start":
        await start(ack, command, respond, client, rest, deps)
    elif sub == "status":
        await status(await answer_later(ack, respond), command, rest, deps)
    elif sub == "list":
        await list_goals(await answer_later(ack, respond), command, rest.lower(), deps)
    elif sub == "cancel":
        await cancel(ack, command, respond, rest, deps)
    elif sub == "repo":
        await repo_command(ack, command, respond, rest, deps)
    elif sub == "approvers":
        await approvers(await answer_later(ack, respond), deps)
    elif sub in ("help", ""):
        await ack(text=builders.build_help_text())
    elif sub in EXTRA or (sub in WITH_JOBS and deps.jobs is not None):
        await {**EXTRA, **WITH_JOBS}[sub](Slash(ack, command, respond, client, rest, deps))
    else:
        await ack(text=f"I don't know `{sub[:40]}`.\n\n" + builders.build_help_text())


# Subcommands kept in modules of their own: name → `async (slash: Slash)`.
EXTRA: dict[str, Subcommand] = {
    "learn": learn.learn,
    "metrics": learn.metrics,
    "retry": retry.retry,
}
# These ask the scheduler side, so they exist only where it is installed (`deps.jobs`).
WITH_JOBS: dict[str, Subcommand] = {
    "digest": digest.digest,
    "rerequest": digest.rerequest,
    "review": review.review,
}


def register(app: AsyncApp, deps: Deps) -> None:
    app.command(ORCH_COMMAND)(orch)
