"""`orch audit …`: verify the chain, export entries as JSON Lines, show the latest entries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    # SQLAlchemy and the audit models are imported by the commands only, so `orch --help` stays fast.
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from storage.audit import AuditEntry

RUNS_DIR = ".runs"


def export_record(entry: AuditEntry) -> dict[str, Any]:
    """One entry as a JSON-ready dict; `run` points at the run's folder when there is a run."""
    return {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "goal_id": entry.goal_id,
        "phase": entry.phase,
        "artifact_sha256": entry.artifact_sha256,
        "mode": entry.mode,
        "justification": entry.justification,
        "request_id": entry.request_id,
        "run_id": entry.run_id,
        "run": f"{RUNS_DIR}/{entry.run_id}/" if entry.run_id else None,
        "payload": entry.payload_dict(),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def tail_line(entry: AuditEntry) -> str:
    """A compact one-line view: `#57 2024-05-01T09:30:00Z U123 artifact.approved goal=G-1 …`."""
    parts = [
        f"#{entry.seq}",
        entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        entry.actor,
        entry.action,
    ]
    for label, value in (
        ("goal", entry.goal_id),
        ("phase", entry.phase),
        ("sha", entry.artifact_sha256[:12] if entry.artifact_sha256 else None),
        ("mode", entry.mode),
        ("run", entry.run_id),
    ):
        if value:
            parts.append(f"{label}={value}")
    if entry.justification:
        parts.append(f'why="{_shorten(entry.justification, 60)}"')
    return " ".join(parts)


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 date or time: {value!r}") from exc
    # A time without a zone is read as UTC, the zone every audit timestamp is kept in.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def register(app: typer.Typer, get_engine: Callable[[], Engine]) -> None:
    """Add the `audit` command group to `app`; the engine is built only when a command runs."""
    audit = typer.Typer(help="Inspect the append-only audit log.", no_args_is_help=True)

    @audit.command("verify")
    def verify() -> None:
        """Check every entry's hash and link; exit 1 at the first broken one."""
        from storage.audit import verify_chain

        result = verify_chain(get_engine())
        if result.ok:
            typer.echo(f"audit: {result.checked} entries, chain intact")
            return
        typer.echo(
            f"audit: chain broken at entry {result.first_bad_seq} ({result.kind}): {result.reason}", err=True
        )
        raise typer.Exit(code=1)

    @audit.command("export")
    def export(
        format_: Annotated[str, typer.Option("--format", help="Output format (only jsonl).")] = "jsonl",
        goal: Annotated[str | None, typer.Option("--goal", help="Only this goal's entries.")] = None,
        since: Annotated[
            str | None, typer.Option("--since", help="Only entries at or after (ISO 8601).")
        ] = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")] = None,
    ) -> None:
        """Write entries as JSON Lines, one object per entry, in chain order."""
        from sqlmodel import Session

        if format_ != "jsonl":
            raise typer.BadParameter("only jsonl is supported", param_hint="--format")
        since_at = _parse_since(since)
        with Session(get_engine()) as session:
            if output is None:
                _write_jsonl(session, typer.echo, goal, since_at)
            else:
                with output.open("w", encoding="utf-8") as fh:
                    count = _write_jsonl(session, lambda line: fh.write(line + "\n"), goal, since_at)
                typer.echo(f"audit: {count} entries written to {output}", err=True)

    @audit.command("tail")
    def tail_cmd(
        n: Annotated[int, typer.Option("-n", "--lines", min=1, help="How many entries.")] = 20,
    ) -> None:
        """Show the latest entries, oldest first."""
        from sqlmodel import Session

        from storage.audit import tail

        with Session(get_engine()) as session:
            for entry in tail(session, n):
                typer.echo(tail_line(entry))

    app.add_typer(audit, name="audit")


def _write_jsonl(
    session: Session, write_line: Callable[[str], object], goal: str | None, since: datetime | None
) -> int:
    from storage.audit import iter_entries

    count = 0
    for entry in iter_entries(session, goal_id=goal, since=since):
        write_line(json.dumps(export_record(entry), ensure_ascii=False, sort_keys=True))
        count += 1
    return count
