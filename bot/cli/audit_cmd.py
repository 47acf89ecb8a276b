"""`orch audit …`: verify the chain and its copies, export entries as JSON Lines, show the latest, rotate the key."""

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
    from storage.audit_keys import AuditKeyring

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
        "key_id": entry.key_id,
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
    def verify(
        repo: Annotated[
            list[Path] | None,
            typer.Option(
                "--repo", help="Also check the Audit-Head trailers and tasks/events.jsonl of this repository."
            ),
        ] = None,
        head_file: Annotated[
            Path | None,
            typer.Option(
                "--head-file", help="Where the last verified head is kept (default: the data directory)."
            ),
        ] = None,
    ) -> None:
        """Check every entry's hash and link (a MAC when keyed), the copies of the head kept
        outside the database, and that the goals and approvals tables agree with the log; exit 1
        naming every problem."""
        from storage.audit_keys import keyring_for

        engine = get_engine()
        keyring = keyring_for(engine)
        if head_file is None and keyring is not None:
            head_file = _data_head_file()
        problems = _verify(engine, keyring, repo or [], head_file)
        for problem in problems:
            typer.echo(f"audit: {problem}", err=True)
        if problems:
            raise typer.Exit(code=1)

    @audit.command("rotate-key")
    def rotate_key() -> None:
        """Start signing new entries with a new generated key; the old ones are kept to verify."""
        from bot.audit_key_source import key_file, rotate_file_key
        from bot.config import ConfigError, load_settings

        try:
            settings = load_settings()
            keyring = rotate_file_key(settings)
        except ConfigError as exc:
            typer.echo(f"audit: {exc}", err=True)
            raise typer.Exit(code=2) from exc
        typer.echo(
            f"audit: new entries are signed with key {keyring.current_id}; "
            f"{len(keyring.keys) - 1} older key(s) kept in {key_file(settings)} for verification"
        )

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


def _data_head_file() -> Path:
    from bot.audit_anchor import HEAD_FILE
    from bot.config import load_settings

    return load_settings().data_path / HEAD_FILE


def _verify(
    engine: Engine, keyring: AuditKeyring | None, repos: list[Path], head_file: Path | None
) -> list[str]:
    """Run every check, print what holds, return what does not."""
    from bot.audit_anchor import check_anchors, read_head_file, record_head, repo_anchors
    from bot.repo.errors import GitError
    from bot.services.audit_state import check_state
    from storage.audit import verify_chain

    problems: list[str] = []
    result = verify_chain(engine, keyring=keyring)
    if result.ok:
        note = ""
        if keyring is not None and result.legacy == result.checked and result.legacy:
            note = " (none keyed: written before an audit key was set, or rewritten without it)"
        elif keyring is not None and result.legacy:
            note = f" ({result.legacy} unkeyed from before the audit key, then {result.checked - result.legacy} keyed)"
        typer.echo(f"audit: {result.checked} entries, chain intact{note}")
    else:
        problems.append(f"chain broken at entry {result.first_bad_seq} ({result.kind}): {result.reason}")
    for repo in repos:
        try:
            anchors = repo_anchors(repo)
        except GitError as exc:
            problems.append(f"cannot read the anchors in {repo}: {exc}")
            continue
        found = check_anchors(engine, anchors)
        problems.extend(found)
        if not found:
            typer.echo(f"audit: {len(anchors)} anchors in {repo} (commit trailers, events) match the log")
    kept = read_head_file(head_file) if head_file is not None else None
    if kept is not None:
        found = check_anchors(engine, [kept])
        problems.extend(found)
        if not found:
            typer.echo(f"audit: entry {kept.seq} is still as it was last verified")
    state = check_state(engine)
    problems.extend(state.problems)
    if not state.skipped and not state.problems:
        typer.echo(
            f"audit: the state tables agree with the log ({state.goals} goals, {state.approvals} approvals)"
        )
    if (
        not problems
        and head_file is not None
        and result.head_seq is not None
        and result.head_hash is not None
    ):
        record_head(head_file, result.head_seq, result.head_hash)
    return problems


def _write_jsonl(
    session: Session, write_line: Callable[[str], object], goal: str | None, since: datetime | None
) -> int:
    from storage.audit import iter_entries

    count = 0
    for entry in iter_entries(session, goal_id=goal, since=since):
        write_line(json.dumps(export_record(entry), ensure_ascii=False, sort_keys=True))
        count += 1
    return count
