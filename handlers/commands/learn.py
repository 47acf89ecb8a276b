"""`/orch learn …` and `/orch metrics [since]`, subcommands of `/orch` (its table `EXTRA` in
handlers/commands/orch.py).

Learning reads a folder on the bot's host or clones a URL and posts the result to the channel,
so proposing is for approvers only (they are trusted with the repository anyway); approving
needs a second approver, exactly like a gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call

if TYPE_CHECKING:
    from bot.learn.proposal import Proposal

MAX_DIFF_CHARS = 2500
LEARN_HELP = (
    "`/orch learn <folder or git URL>` proposes the repository's conventions as a diff; "
    "`/orch learn approve <id>`, `/orch learn discard <id>`, `/orch learn list`."
)


def proposal_text(proposal: Proposal, user: str) -> str:
    diff = (
        proposal.diff
        if len(proposal.diff) <= MAX_DIFF_CHARS
        else (
            proposal.diff[:MAX_DIFF_CHARS].rstrip()
            + f"\n… {len(proposal.diff) - MAX_DIFF_CHARS} more characters"
        )
    )
    files = "\n".join(f"• `{f}`" for f in proposal.files[:30])
    more = f"\n…and {len(proposal.files) - 30} more" if len(proposal.files) > 30 else ""
    return (
        f"*{proposal.id}*: <@{user}> proposes conventions from `{proposal.source}` "
        f"({len(proposal.files)} file(s)):\n{files}{more}\n```\n{diff.replace('```', 'ˋˋˋ')}\n```\n"
        f"Another approver adopts it with `/orch learn approve {proposal.id}` "
        f"(or `/orch learn discard {proposal.id}`)."
    )


async def learn(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    rest: str,
    deps: Deps,
) -> None:
    from bot.learn.service import LearnService

    service = LearnService.from_container(deps)
    user = command["user_id"]
    verb, _, arg = rest.partition(" ")
    verb, arg = verb.strip(), arg.strip()
    if not verb or verb == "help":
        await ack(LEARN_HELP)
        return
    if verb == "list":
        found = await call(service.pending)
        await ack(
            "\n".join(
                f"*{p.id}* from `{p.source}` by <@{p.proposed_by}>, {len(p.files)} file(s)" for p in found
            )
            or "No open learn proposals."
        )
        return
    if verb in ("approve", "discard"):
        await ack()
        try:
            if verb == "approve":
                sha = await call(service.approve, proposal_id=arg, actor=Actor(user))
                text = f"*{arg}* adopted by <@{user}>: merged as `{sha[:12]}`."
            else:
                await call(service.discard, proposal_id=arg, actor=Actor(user))
                text = f"*{arg}* discarded by <@{user}>."
        except ServiceError as exc:
            await respond(text=str(exc), response_type="ephemeral")
            return
        await respond(text=text, response_type="in_channel")
        return
    if not deps.directory.is_approver(user):
        await ack("Only approvers can ask me to learn from a repository. `/orch approvers` lists them.")
        return
    await ack(f"Learning from `{verb[:200]}`…")
    try:
        outcome = await call(service.propose, source=verb, actor=Actor(user))
    except ServiceError as exc:
        await respond(text=str(exc), response_type="ephemeral")
        return
    if outcome.proposal is None:
        await respond(
            text=f"Nothing new to learn from `{outcome.harvest.source}`: this repository already "
            "has all of it.",
            response_type="ephemeral",
        )
        return
    await respond(text=proposal_text(outcome.proposal, user), response_type="in_channel")


async def metrics(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    rest: str,
    deps: Deps,
) -> None:
    from bot.observability.metrics import parse_since
    from bot.observability.metrics_report import metrics_summary
    from bot.observability.runs import runs_dir_for

    try:
        since = parse_since(rest or None, now=deps.clock())
    except ValueError as exc:
        await ack(f"{exc}. Try `/orch metrics 7d`.")
        return
    await ack()
    lines = await call(metrics_summary, engine=deps.engine, since=since, runs_dir=runs_dir_for(deps.settings))
    head = f"*Metrics since {since:%Y-%m-%d %H:%M} UTC*" if since else "*Metrics (all time)*"
    await respond(text="\n".join([head, *(f"• {line}" for line in lines)]), response_type="ephemeral")
