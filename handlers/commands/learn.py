"""`/orch learn …` and `/orch metrics [since]`, subcommands of `/orch` (its table `EXTRA` in
handlers/commands/orch.py).

Learning reads a folder on the bot's host or clones a URL and posts the result to the channel,
so proposing is for approvers only (they are trusted with the repository anyway); approving
needs a second approver, exactly like a gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.commands.slash import Slash
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


async def learn(slash: Slash) -> None:
    verb, _, arg = slash.rest.partition(" ")
    verb, arg, user = verb.strip(), arg.strip(), slash.user
    if not verb or verb == "help":
        await slash.ack(LEARN_HELP)
        return
    from bot.learn.service import LearnService

    service = LearnService.from_container(slash.deps)
    if verb == "list":
        found = await call(service.pending)
        lines = [f"*{p.id}* from `{p.source}` by <@{p.proposed_by}>, {len(p.files)} file(s)" for p in found]
        await slash.ack("\n".join(lines) or "No open learn proposals.")
        return
    if verb in ("approve", "discard"):
        await slash.ack()
        if verb == "approve":
            sha = await slash.run(service.approve, proposal_id=arg, actor=slash.actor)
            if sha is not None:
                await slash.answer(f"*{arg}* adopted by <@{user}>: merged as `{sha[:12]}`.", in_channel=True)
        elif await slash.did(service.discard, proposal_id=arg, actor=slash.actor):
            await slash.answer(f"*{arg}* discarded by <@{user}>.", in_channel=True)
        return
    if not slash.deps.directory.is_approver(user):
        await slash.ack("Only approvers can ask me to learn from a repository. `/orch approvers` lists them.")
        return
    await slash.ack(f"Learning from `{verb[:200]}`…")
    outcome = await slash.run(service.propose, source=verb, actor=slash.actor)
    if outcome is None:
        return
    if outcome.proposal is None:
        source = outcome.harvest.source
        await slash.answer(f"Nothing new to learn from `{source}`: this repository already has all of it.")
        return
    await slash.answer(proposal_text(outcome.proposal, user), in_channel=True)


async def metrics(slash: Slash) -> None:
    from bot.observability.metrics import parse_since
    from bot.observability.metrics_report import metrics_summary
    from bot.observability.runs import runs_dir_for

    deps = slash.deps
    try:
        since = parse_since(slash.rest or None, now=deps.clock())
    except ValueError as exc:
        await slash.ack(f"{exc}. Try `/orch metrics 7d`.")
        return
    await slash.ack()
    lines = await call(metrics_summary, engine=deps.engine, since=since, runs_dir=runs_dir_for(deps.settings))
    head = f"*Metrics since {since:%Y-%m-%d %H:%M} UTC*" if since else "*Metrics (all time)*"
    await slash.answer("\n".join([head, *(f"• {line}" for line in lines)]))
