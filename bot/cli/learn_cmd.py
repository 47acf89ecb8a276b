"""`orch learn`, `orch eval` and `orch metrics`: learning assets and the numbers that show they help.

`orch learn` reads like the Slack command: `orch learn <path or git URL>` proposes a harvest,
`orch learn approve|discard|show <id>` decides it, `orch learn list` shows open proposals and
`orch learn assets` the adopted ones with their last use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

VERBS = ("approve", "discard", "show", "list", "assets")


def _learn_service(get_engine: Callable[[], Engine]) -> Any:
    from bot.cli import _settings
    from bot.learn.service import LearnService

    return LearnService.from_settings(_settings(), get_engine())


def _proposal_text(proposal: Any) -> str:
    state = "already open" if proposal.existing else "proposed"
    head = f"{proposal.id} {state}: conventions from {proposal.source}, {len(proposal.files)} file(s)"
    return "\n".join(
        [
            head,
            *(f"  {f}" for f in proposal.files),
            "",
            proposal.diff.rstrip(),
            "",
            f"Approve with: orch learn approve {proposal.id} --as <approver>",
            f"Discard with: orch learn discard {proposal.id}",
        ]
    )


def register(app: typer.Typer, get_engine: Callable[[], Engine]) -> None:
    @app.command("learn")
    def learn(
        words: Annotated[
            list[str],
            typer.Argument(
                help="A folder or git URL to learn from; or approve|discard|show <id>; or list; or assets."
            ),
        ],
        as_user: Annotated[
            str, typer.Option("--as", help="Who acts (an approver for approve).")
        ] = "cli:local",
        json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Harvest a repository's conventions into patterns/ and adapters/ as a diff for approval."""
        from bot.cli import _run_service, fail
        from bot.cli.identity import cli_actor

        service = _learn_service(get_engine)
        verb, rest = words[0], words[1:]
        if verb in ("approve", "discard", "show"):
            if len(rest) != 1:
                fail(f"say which proposal: orch learn {verb} L-1a2b3c4d", 2)
            if verb == "approve":
                sha = _run_service(service.approve, proposal_id=rest[0], actor=cli_actor(as_user))
                typer.echo(f"{rest[0]} merged into {service.git().main_branch} as {sha[:12]}")
            elif verb == "discard":
                _run_service(service.discard, proposal_id=rest[0], actor=cli_actor(as_user))
                typer.echo(f"{rest[0]} discarded")
            else:
                typer.echo(_proposal_text(_run_service(service.show, proposal_id=rest[0])))
            return
        if verb in ("list", "assets"):
            rows: Any = (
                [
                    {"id": p.id, "source": p.source, "proposed_by": p.proposed_by, "files": p.files}
                    for p in service.pending()
                ]
                if verb == "list"
                else service.assets()
            )
            if json_out:
                typer.echo(json.dumps(rows, indent=2))
            elif verb == "list":
                for p in rows:
                    typer.echo(
                        f"{p['id']}  {len(p['files'])} file(s) from {p['source']} by {p['proposed_by']}"
                    )
                if not rows:
                    typer.echo("no open learn proposals")
            else:
                for a in rows:
                    typer.echo(
                        f"{a['path']:<45} v{a.get('version', '?')}  {a.get('origin', {}).get('source', '?')}"
                        f"  last used {a.get('last_used') or 'never'}"
                    )
            return
        if rest:
            fail(f"one source at a time (got {len(words)} words); `{' '.join(VERBS)}` are the other verbs", 2)
        outcome = _run_service(service.propose, source=verb, actor=cli_actor(as_user))
        if json_out:
            p = outcome.proposal
            typer.echo(
                json.dumps(
                    {
                        "proposal": None
                        if p is None
                        else {
                            "id": p.id,
                            "branch": p.branch,
                            "source": p.source,
                            "files": p.files,
                            "existing": p.existing,
                        },
                        "assets": [a.path for a in outcome.harvest.assets],
                        "notes": outcome.harvest.notes,
                    },
                    indent=2,
                )
            )
            return
        for note in outcome.harvest.notes:
            typer.echo(f"note: {note}", err=True)
        if outcome.proposal is None:
            typer.echo(f"nothing new to learn from {outcome.harvest.source}: the target already has it all")
            return
        typer.echo(_proposal_text(outcome.proposal))

    @app.command("eval")
    def eval_cmd(
        folder: Annotated[
            str | None,
            typer.Option(
                "--dir", help="Fixture folder (default: the repo's evals/, else the shipped fixtures)."
            ),
        ] = None,
        min_score: Annotated[float, typer.Option(help="Exit 1 below this overall score (0..1).")] = 0.0,
        json_out: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Draft every fixture with the configured backend, score the artifacts, keep results in .runs/."""
        import asyncio
        from pathlib import Path

        from bot.agents.sdk import make_drafter
        from bot.cli import _settings, fail
        from bot.cli.evals import FixtureError, fixture_dir, load_fixtures, run_eval
        from bot.observability.runs import runs_dir_for

        settings = _settings()
        where = Path(folder) if folder else fixture_dir(Path(settings.repo))
        if not where.is_dir():
            fail(f"no fixture folder {where.name}", 2)
        try:
            fixtures = load_fixtures(where)
        except FixtureError as exc:
            fail(f"bad fixture: {exc}", 2)
        if not fixtures:
            fail(f"no fixtures in {where.name}/", 2)
        report = asyncio.run(
            run_eval(
                make_drafter(settings),
                fixtures,
                backend=settings.backend,
                repo=Path(settings.repo),
                runs_dir=runs_dir_for(settings),
                clock=lambda: datetime.now(UTC),
            )
        )
        if json_out:
            typer.echo(
                json.dumps(
                    {
                        "run_id": report.run_id,
                        "score": report.score,
                        "passed": report.passed,
                        "total": report.total,
                        "fixtures": {r.name: r.score for r in report.results},
                        "previous_run_id": (report.previous or {}).get("run_id"),
                        "change": {
                            "score": report.change(),
                            "fixtures": {r.name: report.change(r.name) for r in report.results},
                        },
                    },
                    indent=2,
                )
            )
        else:
            typer.echo(f"eval of the {settings.backend} backend on {len(fixtures)} fixture(s)\n")
            typer.echo(report.table())
            typer.echo(f"\nresults: .runs/{report.run_id}/")
            typer.echo(f"kept in {report.folder}; the next `orch eval` compares with them")
        if report.score < min_score:
            raise typer.Exit(1)

    @app.command("metrics")
    def metrics_cmd(
        since: Annotated[
            str | None, typer.Option(help="Only goals started since: 7d, 12h or an ISO date.")
        ] = None,
        json_out: Annotated[bool, typer.Option("--json")] = False,
        explain: Annotated[
            bool, typer.Option("--explain", help="List the goals and runs behind each number.")
        ] = False,
    ) -> None:
        """Success metrics from the audit log and this deployment's run records (never entered by hand)."""
        from bot.cli import _settings
        from bot.observability.metrics import collect_for, parse_since
        from bot.observability.metrics_report import explain_lines, how_lines, summary_lines

        try:
            start = parse_since(since, now=datetime.now(UTC))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--since") from exc
        metrics = collect_for(get_engine(), _settings(), since=start)
        if json_out:
            data = metrics.to_dict()
            if explain:
                data["explain"] = metrics.explain()
            typer.echo(json.dumps(data, indent=2))
            return
        typer.echo("\n".join(summary_lines(metrics)))
        from bot.observability.runs import runs_dir_for
        from bot.observability.usage import sum_usage, usage_summary_line

        settings = _settings()
        typer.echo(usage_summary_line(sum_usage(runs_dir_for(settings), settings.prices, since=start)))
        for detail in metrics.gates_before_implementation.details + metrics.runs_without_fixups.details:
            typer.echo(f"  · {detail}")
        if explain:
            typer.echo("\n" + "\n".join(explain_lines(metrics)).rstrip())
        else:
            typer.echo("\nHow each is computed:\n" + "\n".join(f"  {line}" for line in how_lines()))
            typer.echo("(orch metrics --explain lists the goals and runs behind each number)")
