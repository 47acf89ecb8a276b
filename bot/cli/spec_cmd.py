"""Gate commands that keep specs current, added to the `goal` group:

- `orch goal spec <id> --require|--waive --as U --justification "…"`: a person's Mini-Spec decision
  (the same service a Slack action calls, `bot.services.spec.set_spec_requirement`);
- `orch goal review <id> --as U [--phase P]`: re-approve unchanged, a new review date for the same
  sha256 (`bot.services.reviews.reaffirm`);
- `orch goal draft <id> --file F --as U`: the team's own text as the next version of the current
  phase's artifact, waiting for approval like any draft (`bot.services.drafts.submit_draft`).
"""

from __future__ import annotations

from typing import Annotated

import typer


def _goal_group(app: typer.Typer) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == "goal" and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="Work with goals without Slack.", no_args_is_help=True)
    app.add_typer(group, name="goal")
    return group


def goal_spec(
    goal_id: Annotated[str, typer.Argument(help="The goal, e.g. G-0001.")],
    as_user: Annotated[str, typer.Option("--as", help="The approver deciding (listed in ORCH_APPROVERS).")],
    justification: Annotated[
        str, typer.Option(help="Why, in at least 20 characters; it goes into the audit log and index.")
    ],
    require: Annotated[bool, typer.Option("--require", help="The goal needs a Mini-Spec.")] = False,
    waive: Annotated[bool, typer.Option("--waive", help="The goal does without a Mini-Spec.")] = False,
) -> None:
    """Require or waive the Mini-Spec of a goal, with a written justification (audited)."""
    from bot.cli import _container, _drain, _run_service, fail
    from bot.cli.identity import cli_actor
    from bot.services.spec import set_spec_requirement
    from bot.services.unit import GOAL_ID_RE

    if require == waive:
        fail("say either --require or --waive", 2)
    wanted = goal_id.strip().upper()
    if not GOAL_ID_RE.match(wanted):
        fail(f"{goal_id!r} is not a goal id (they look like G-0001)", 2)
    c = _container()
    outcome = _run_service(
        set_spec_requirement,
        goals=c.goals,
        goal_id=wanted,
        decision="required" if require else "waived",
        actor=cli_actor(as_user),
        justification=justification,
    )
    _drain(c)
    goal = c.goals.get(wanted)
    status = goal.status.replace("_", " ") if goal.state == "active" else goal.state
    moved = " (the goal moved)" if outcome.moved else ""
    typer.echo(f"{goal.id}: Mini-Spec {outcome.decision} by {as_user}{moved}; now {goal.phase} ({status})")


def goal_review(
    goal_id: Annotated[str, typer.Argument(help="The goal, e.g. G-0001.")],
    as_user: Annotated[
        str, typer.Option("--as", help="The approver re-reviewing (listed in ORCH_APPROVERS).")
    ],
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", help="Only this phase (repeatable); default: every approved one."),
    ] = None,
) -> None:
    """Re-approve unchanged: record a new review date for the approved artifacts (audited, committed)."""
    from bot.cli import _container, _drain, _run_service, fail
    from bot.services.reviews import reaffirm
    from bot.services.unit import GOAL_ID_RE, Actor
    from bot.sop.phases import LABELS, Phase

    wanted = goal_id.strip().upper()
    if not GOAL_ID_RE.match(wanted):
        fail(f"{goal_id!r} is not a goal id (they look like G-0001)", 2)
    known = {p.value for p in LABELS}
    unknown = [p for p in phase or [] if p not in known]
    if unknown:
        fail(f"unknown phase {unknown[0]!r} (phases: {', '.join(sorted(known))})", 2)
    c = _container()
    done = _run_service(reaffirm, goals=c.goals, goal_id=wanted, actor=Actor(as_user), phases=phase or [])
    _drain(c)
    names = ", ".join(f"{LABELS[Phase(r.phase)]} v{r.version}" for r in done)
    typer.echo(f"{wanted}: re-reviewed unchanged by {as_user}: {names}")


def goal_draft(
    goal_id: Annotated[str, typer.Argument(help="The goal, e.g. G-0001.")],
    file: Annotated[
        typer.FileText, typer.Option("--file", help="The Markdown text of the draft ('-': stdin).")
    ],
    as_user: Annotated[str, typer.Option("--as", help="Who wrote it (recorded as the drafter).")],
    summary: Annotated[str, typer.Option(help="One line shown with the draft.")] = "",
) -> None:
    """Propose the team's own text as the next version of the goal's current artifact."""
    from bot.cli import _container, _drain, _run_service, fail
    from bot.services.drafts import submit_draft
    from bot.services.unit import GOAL_ID_RE

    wanted = goal_id.strip().upper()
    if not GOAL_ID_RE.match(wanted):
        fail(f"{goal_id!r} is not a goal id (they look like G-0001)", 2)
    content = file.read()
    c = _container()
    art = _run_service(
        submit_draft,
        goals=c.goals,
        goal_id=wanted,
        content=content,
        summary=summary or f"written by {as_user}",
        drafted_by=as_user,
    )
    _drain(c)
    typer.echo(
        f"{wanted}: {art.phase} v{art.version} drafted by {as_user} (sha256 {art.sha256[:12]}); awaiting approval"
    )


def register(app: typer.Typer) -> None:
    group = _goal_group(app)
    group.command("spec")(goal_spec)
    group.command("review")(goal_review)
    group.command("draft")(goal_draft)
