"""`orch audit verify` against someone who can write the database but does not hold the audit key.

A goal is walked through two gates with the real CLI on a real SQLite file and a real git
repository (every commit carries `Audit-Head`), and verified once (which keeps the head in the data
directory). Each case then copies that world, tampers with the database the way an attacker with
SQL access would (triggers dropped, sha256 recomputed with the published algorithm), and runs
`orch audit verify --repo`, which must exit 1 and say what it found.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from storage.audit import AuditEntry, drop_audit_guards, entry_hash
from storage.db import make_engine
from tests.conftest import init_repo
from tests.support.sop_cli import APPROVERS, OrchCli, setup_env

BRIEF = "Add CSV export of invoices. Finance wants a download button on the invoice list."


@dataclass(frozen=True)
class World:
    data: Path  # orch.db, audit.keys and audit.head: copied for each case
    repo: Path  # only read by verify, so shared


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("audit-world")
    repo = init_repo(base / "repo")
    with pytest.MonkeyPatch.context() as mp:
        setup_env(mp, base / "data", repo)
        mp.delenv("ORCH_AUDIT_KEY", raising=False)
        mp.delenv("ORCH_DATA_DIR", raising=False)
        orch = OrchCli()
        orch("goal", "start", BRIEF, "--as", "U_REQ")
        orch("goal", "approve", "G-0001", "--as", APPROVERS[0])  # Scaffold Check: commits
        orch("goal", "approve", "G-0001", "--as", APPROVERS[1])  # PRD
        verified = orch("audit", "verify", "--repo", str(repo))
        assert "chain intact" in verified.stdout and "state tables agree" in verified.stdout
    assert (base / "data" / "audit.keys").stat().st_mode & 0o777 == 0o600
    assert (base / "data" / "audit.head").exists()
    yield World(base / "data", repo)


def _copy_world(world: World, case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The world's database, key and kept head in `case`, and `orch` pointed at them."""
    shutil.copytree(world.data, case)
    monkeypatch.setenv("ORCH_DATABASE_URL", f"sqlite:///{case / 'orch.db'}")
    monkeypatch.setenv("ORCH_REPO", str(world.repo))
    monkeypatch.setenv("ORCH_LOG_LEVEL", "WARNING")


def _run_verify(world: World) -> Result:
    from bot.cli import app

    return CliRunner().invoke(app, ["audit", "verify", "--repo", str(world.repo)])


# -- the attacker: SQL access, the published hashing, no key ----------------------------------------


def _entries(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return [e.model_dump() for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))]


def _rewrite(engine: Engine, rows: list[dict[str, Any]], *, unkeyed_from: int = 1) -> None:
    """Replace the table with `rows`, renumbered and rechained with sha256 from `unkeyed_from` on."""
    prev = "0" * 64
    out = []
    for seq, row in enumerate(rows, start=1):
        row = {**row, "seq": seq}
        if seq >= unkeyed_from:
            row.update(key_id=None, prev_hash=prev)
            row["hash"] = entry_hash(row)
        out.append(row)
        prev = row["hash"]
    with engine.begin() as conn:
        drop_audit_guards(conn)
        conn.exec_driver_sql("DELETE FROM audit_log")
        if out:
            conn.execute(AuditEntry.__table__.insert(), out)  # type: ignore[attr-defined]


def _sql(*statements: str) -> Callable[[Engine], None]:
    def tamper(engine: Engine) -> None:
        with engine.begin() as conn:
            drop_audit_guards(conn)
            for statement in statements:
                conn.execute(text(statement))

    return tamper


def truncate_the_tail(engine: Engine) -> None:
    _sql("DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 3 FROM audit_log)")(engine)


def edit_and_recompute_the_whole_chain(engine: Engine) -> None:
    rows = _entries(engine)
    approval = next(r for r in rows if r["action"] == "artifact.approved")
    approval["actor"] = "U_MALLORY"
    _rewrite(engine, rows)  # every entry a correct sha256 link: nothing keyed is left to fail


def edit_and_recompute_from_the_edit_on(engine: Engine) -> None:
    rows = _entries(engine)
    at = next(i for i, r in enumerate(rows) if r["action"] == "artifact.approved")
    rows[at]["actor"] = "U_MALLORY"
    _rewrite(engine, rows, unkeyed_from=at + 1)


def delete_and_renumber(engine: Engine) -> None:
    rows = _entries(engine)
    at = next(i for i, r in enumerate(rows) if r["action"] == "artifact.approved")
    del rows[at]
    _rewrite(engine, rows, unkeyed_from=at + 1)


def append_a_forged_entry(engine: Engine) -> None:
    rows = _entries(engine)
    head = rows[-1]
    forged = {
        **head,
        "seq": head["seq"] + 1,
        "actor": "U_MALLORY",
        "action": "mode.granted",
        "key_id": None,
        "payload": '{"requested_mode":"full-access"}',
        "prev_hash": head["hash"],
    }
    forged["hash"] = entry_hash(forged)
    with engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), [forged])  # type: ignore[attr-defined]


def insert_an_approval_row(engine: Engine) -> None:
    with engine.begin() as conn:
        art = conn.execute(
            text(
                "SELECT phase, version, sha256 FROM artifacts WHERE goal_id = 'G-0001' ORDER BY id DESC LIMIT 1"
            )
        ).one()
        conn.execute(
            text(
                "INSERT INTO approvals (goal_id, phase, artifact_version, artifact_sha256, decision, by, at) "
                "VALUES ('G-0001', :phase, :version, :sha, 'approve', 'U_MALLORY', '2026-01-01 00:00:00')"
            ),
            {"phase": art.phase, "version": art.version, "sha": art.sha256},
        )


NEW_TAMPERINGS: dict[str, tuple[Callable[[Engine], None], tuple[str, ...]]] = {
    "truncate the tail": (truncate_the_tail, ("is missing: the log was cut short",)),
    "delete every row": (
        _sql("DELETE FROM audit_log"),
        (
            "is missing: the log was cut short",
            "goal G-0001: in the goals table, but the audit log has no goal.started",
        ),
    ),
    "edit a row and recompute the unkeyed chain": (
        edit_and_recompute_the_whole_chain,
        ("differs from its anchor", "the log was rewritten"),
    ),
    "delete and renumber": (delete_and_renumber, ("(unkeyed)", "differs from its anchor")),
    "append a forged, correctly hashed entry": (
        append_a_forged_entry,
        ("(unkeyed): entry", "mode is read-only but the audit log's last mode change"),
    ),
    "change goals.mode directly": (
        _sql("UPDATE goals SET mode = 'full-access' WHERE id = 'G-0001'"),
        ("goal G-0001: mode is full-access but the audit log's last mode change (entry 1) says read-only",),
    ),
    "insert an approval row directly": (
        insert_an_approval_row,
        ("has no artifact.approved entry",),
    ),
}
# What verify caught before keys and anchors, now on a keyed chain, plus a variant of the rewrite.
KNOWN_TAMPERINGS: dict[str, tuple[Callable[[Engine], None], tuple[str, ...]]] = {
    "edit a row in place": (_sql("UPDATE audit_log SET actor = 'U_MALLORY' WHERE seq = 3"), ("(edited)",)),
    "edit a row and recompute from it on": (edit_and_recompute_from_the_edit_on, ("(unkeyed)",)),
    "delete a row": (_sql("DELETE FROM audit_log WHERE seq = 3"), ("entry 3 missing",)),
    "reorder two rows": (
        _sql(
            "UPDATE audit_log SET seq = -1 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = -1",
        ),
        ("(reordered)",),
    ),
    "insert a row": (
        _sql(
            "UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 3",
            "UPDATE audit_log SET seq = -seq WHERE seq < 0",
            "INSERT INTO audit_log (seq, at, actor, action, goal_id, phase, artifact_sha256, mode, justification, "
            "request_id, run_id, payload, key_id, prev_hash, hash) SELECT 3, at, 'U_MALLORY', action, goal_id, phase, artifact_sha256, mode, "
            "justification, request_id, run_id, payload, key_id, prev_hash, 'forged' || substr(hash, 7) FROM audit_log "
            "WHERE seq = 2",
        ),
        ("(inserted)",),
    ),
}


@pytest.mark.parametrize("name", [*NEW_TAMPERINGS, *KNOWN_TAMPERINGS])
def test_verify_catches_the_tampering(
    name: str, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tamper, expected = {**NEW_TAMPERINGS, **KNOWN_TAMPERINGS}[name]
    case = tmp_path / "data"
    _copy_world(world, case, monkeypatch)
    engine = make_engine(f"sqlite:///{case / 'orch.db'}")  # the attacker's: no key bound
    try:
        tamper(engine)
    finally:
        engine.dispose()
    result = _run_verify(world)
    assert result.exit_code == 1, f"{name}: not caught\n{result.output}"
    for fragment in expected:
        assert fragment in result.stderr, f"{name}: {fragment!r} not in\n{result.stderr}"


def test_the_untouched_world_verifies(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy_world(world, tmp_path / "data", monkeypatch)
    result = _run_verify(world)
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.stdout and "match the log" in result.stdout
    assert "state tables agree with the log (1 goals, 2 approvals)" in result.stdout


def test_every_commit_of_the_bot_carries_the_audit_head_it_saw(world: World) -> None:
    log = subprocess.run(
        [
            "git",
            "-C",
            str(world.repo),
            "log",
            "--all",
            "--format=%s%x1f%(trailers:key=Audit-Head,valueonly)%x1e",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    heads = {}
    for record in filter(str.strip, log.split("\x1e")):
        subject, _, value = record.strip().partition("\x1f")
        if subject.startswith("orch"):
            seq, _, mac = value.strip().partition(":")
            heads[subject] = (int(seq), mac)
    assert len(heads) >= 3, log  # the scaffold, two approvals, the goal's start
    engine = make_engine(f"sqlite:///{world.data / 'orch.db'}")
    try:
        with Session(engine) as session:
            stored = {e.seq: e.hash for e in session.exec(select(AuditEntry))}
    finally:
        engine.dispose()
    assert all(stored[seq] == mac and len(mac) == 64 for seq, mac in heads.values()), heads
