"""`/orch <subcommand>`: ack at once, then call a service. Unknown input gets the help, ephemerally."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.manifest_facts import ORCH_COMMAND
from bot.services.budgets import parse_budget
from bot.services.errors import DuplicateStart, ServiceError
from bot.services.goals import MAX_BRIEF
from bot.services.unit import Actor
from bot.sop.phases import LABELS, Phase
from handlers.common import call, open_modal

if TYPE_CHECKING:
    from bot.app import Container
    from storage.models import Goal

log = logging.getLogger(__name__)


def goal_line(goal: Goal) -> str:
    state = goal.state if goal.state != "active" else goal.status.replace("_", " ")
    return f"*{goal.id}* {goal.title} — {LABELS[Phase(goal.phase)]}, {state}"


def extra_subcommands(container: Container) -> dict[str, Any]:
    """Subcommands other command modules add: name → `async (ack, command, respond, client, rest)`."""
    found: dict[str, Any] = container.orch_subcommands
    return found


Reply = Callable[[str], Awaitable[Any]]


async def answer_later(ack: AsyncAck, respond: AsyncRespond) -> Reply:
    """Ack at once and answer through the response_url. A read may wait behind writers on a busy
    database; Slack's 3 s window for the ack must not (the bench saw `/orch status` acks time out
    under 1,000 requests/s when the read came before the ack)."""
    await ack()

    async def reply(text: str) -> None:
        await respond(text=text, response_type="ephemeral")

    return reply


def goal_usage_line(container: Container, goal_id: str) -> str:
    """ "\nUsage: …" (tokens of the goal's agent runs and their cost), or "" before any run reported usage."""
    from bot.observability.runs import runs_dir_for
    from bot.observability.usage import goal_usage
    from bot.services.budgets import standing

    used = goal_usage(runs_dir_for(container.settings), goal_id, container.settings.prices)
    line = f"\nUsage: {used.line().split(': ', 1)[1]}" if used.runs else ""
    state = standing(container.goals, container.settings, goal_id)
    if state.budget is not None:
        line += f"\nBudget: {state.line()}"
    return line


def register(app: AsyncApp, container: Container) -> None:
    goals = container.goals

    async def start(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, brief: str
    ) -> None:
        if not brief:
            await ack()
            metadata = json.dumps({"channel": command["channel_id"]})
            await open_modal(
                client,
                trigger_id=command["trigger_id"],
                user=command["user_id"],
                channel=command["channel_id"],
                view=builders.build_start_modal(
                    repos=[], default_channel=command["channel_id"], private_metadata=metadata
                ),
            )
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
            if not brief:
                await ack("Say what to build after the budget: `/orch start --budget 5 <brief>`.")
                return
        await ack()
        try:
            await call(
                goals.start_goal,
                brief=brief,
                actor=Actor(command["user_id"]),
                channel_id=command["channel_id"],
                source="slash",
                budget_usd=budget,
            )
        except DuplicateStart as exc:
            # One goal unless the person says otherwise: the same text again is most often a repeat.
            blocks, text = builders.build_duplicate_start(str(exc), exc.goal_id)
            await respond(text=text, blocks=blocks, response_type="ephemeral")
        except ServiceError as exc:
            await respond(text=str(exc), response_type="ephemeral")

    async def status(ack: Reply, command: dict[str, Any], arg: str) -> None:
        if arg:
            try:
                goal = await call(goals.get, goal_id=arg.upper())
            except ServiceError as exc:
                await ack(str(exc))
                return
            usage = await call(goal_usage_line, container=container, goal_id=goal.id)
            await ack(f"{goal_line(goal)}\nRequested by <@{goal.requester}> · mode {goal.mode}{usage}")
            return
        mine = await call(goals.list, requester=command["user_id"], active_only=True, limit=10)
        if not mine:
            await ack("You have no goals in progress. Start one with `/orch start <brief>`.")
            return
        await ack("Your goals in progress:\n" + "\n".join(goal_line(g) for g in mine))

    async def list_goals(ack: Reply, command: dict[str, Any], arg: str) -> None:
        if arg == "mine":
            found = await call(goals.list, requester=command["user_id"], limit=20)
            title = "Your goals"
        else:
            found = await call(goals.list, channel_id=command["channel_id"], limit=20)
            title = "Goals in this channel"
        if not found:
            await ack(f"{title}: none yet. Start one with `/orch start <brief>`.")
            return
        await ack(f"{title}:\n" + "\n".join(goal_line(g) for g in found))

    async def cancel(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, arg: str) -> None:
        if not arg:
            await ack("Which goal? `/orch cancel G-0001`")
            return
        await ack()
        try:
            goal = await call(goals.cancel, goal_id=arg.upper(), actor=Actor(command["user_id"]))
        except ServiceError as exc:
            await respond(text=str(exc), response_type="ephemeral")
            return
        await respond(text=f"{goal.id} is cancelled.", response_type="ephemeral")

    async def approvers(ack: Reply) -> None:
        found = await call(container.directory.approvers)
        if not found:
            await ack("No approvers are configured (ORCH_APPROVERS), so no gate can be approved yet.")
            return
        await ack("Approvers: " + ", ".join(f"<@{u}>" for u in sorted(found)))

    @app.command(ORCH_COMMAND)
    async def orch(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        text = (command.get("text") or "").strip()
        sub, _, rest = text.partition(" ")
        sub, rest = sub.lower(), rest.strip()
        if sub == "start":
            await start(ack, command, respond, client, rest)
        elif sub == "status":
            await status(await answer_later(ack, respond), command, rest)
        elif sub == "list":
            await list_goals(await answer_later(ack, respond), command, rest.lower())
        elif sub == "cancel":
            await cancel(ack, command, respond, rest)
        elif sub == "approvers":
            await approvers(await answer_later(ack, respond))
        elif sub in ("help", ""):
            await ack(text=builders.build_help_text())
        elif sub in extra_subcommands(container):
            await extra_subcommands(container)[sub](ack, command, respond, client, rest)
        else:
            await ack(text=f"I don't know `{sub[:40]}`.\n\n" + builders.build_help_text())
