"""`orch goal spec <id> --require|--waive --as U --justification "…"`: a person's Mini-Spec decision.

Added to the `goal` command group so it reads like the other gate commands. The command calls the
same service a Slack action would (`bot.services.spec.set_spec_requirement`).
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
    from bot.cli_identity import cli_actor
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


def register(app: typer.Typer) -> None:
    _goal_group(app).command("spec")(goal_spec)
