"""Where the audit key comes from, how it is rotated, and how a database from before keys moves on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.audit_key_source import key_file, load_keyring
from bot.config import ConfigError, load_settings
from bot.repo.message import append_trailer, compose_message
from storage.audit import HASHED_FIELDS, AuditEntry, append_audit, entry_hash, verify_chain
from storage.audit_keys import bind_keyring, key_id_for
from storage.db import make_engine, transaction
from storage.migrate import upgrade

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
CONFIGURED = "configured-audit-key-0123456789abcdef"


def _settings(tmp_path: Path, **overrides: object) -> object:
    return load_settings(database_url=f"sqlite:///{tmp_path / 'db' / 'orch.db'}", **overrides)


def _append(engine: object, n: int, start: int = 0) -> None:
    with transaction(engine) as session:  # type: ignore[arg-type]
        for i in range(start, start + n):
            append_audit(
                session, actor="bot", action="job.ran", payload={"i": i}, at=T0 + timedelta(seconds=i)
            )


def test_without_a_configured_key_one_is_generated_once_next_to_the_database_and_kept_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path)
    caplog.set_level(logging.DEBUG)
    first = load_keyring(settings)  # type: ignore[arg-type]
    path = key_file(settings)  # type: ignore[arg-type]
    assert path == tmp_path / "db" / "audit.keys"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring(settings).current_id == first.current_id  # type: ignore[arg-type]
    key = first.current.decode()
    engine = make_engine(settings.database_url)  # type: ignore[attr-defined]
    upgrade(engine)
    bind_keyring(engine, first)
    _append(engine, 3)
    engine.dispose()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "db").iterdir() if p.name.startswith("orch.db"))
    assert key.encode() not in stored and first.current_id.encode() in stored
    assert key not in caplog.text and key not in repr(first)


def test_a_configured_key_wins_and_older_keys_stay_for_verification(tmp_path: Path) -> None:
    generated = load_keyring(_settings(tmp_path))  # type: ignore[arg-type]
    settings = _settings(
        tmp_path, ORCH_AUDIT_KEY=CONFIGURED, ORCH_AUDIT_PREVIOUS_KEYS="previous-key-abcdefghijklmnop"
    )
    keyring = load_keyring(settings)  # type: ignore[arg-type]
    assert keyring.current_id == key_id_for(CONFIGURED.encode())
    assert set(keyring.keys) == {
        keyring.current_id,
        generated.current_id,
        key_id_for(b"previous-key-abcdefghijklmnop"),
    }


def test_a_configured_key_creates_no_key_file_and_a_short_one_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, ORCH_AUDIT_KEY=CONFIGURED)
    load_keyring(settings)  # type: ignore[arg-type]
    assert not key_file(settings).exists()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        load_keyring(_settings(tmp_path, ORCH_AUDIT_KEY="changeme"))  # type: ignore[arg-type]


def test_rotate_key_signs_new_entries_with_a_new_key_and_old_entries_still_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app

    db = tmp_path / "db" / "orch.db"
    monkeypatch.setenv("ORCH_DATABASE_URL", f"sqlite:///{db}")
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0  # creates the database and the key
    settings = load_settings()
    before = load_keyring(settings)
    engine = make_engine(settings.database_url)
    bind_keyring(engine, before)
    _append(engine, 2)
    rotated = runner.invoke(app, ["audit", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    after = load_keyring(settings)
    assert after.current_id != before.current_id and before.current_id in after.keys
    assert f"key {after.current_id}" in rotated.stdout and before.current.decode() not in rotated.output
    bind_keyring(engine, after)
    _append(engine, 2, start=2)
    with Session(engine) as session:
        ids = [e.key_id for e in session.exec(select(AuditEntry).order_by(AuditEntry.seq))]  # type: ignore[arg-type]
    assert ids == [before.current_id] * 2 + [after.current_id] * 2
    engine.dispose()
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("audit: 4 entries, chain intact\n")
    monkeypatch.setenv("ORCH_AUDIT_KEY", CONFIGURED)
    refused = runner.invoke(app, ["audit", "rotate-key"])
    assert refused.exit_code == 2 and "ORCH_AUDIT_PREVIOUS_KEYS" in refused.stderr


def test_a_bad_key_is_a_configuration_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app

    monkeypatch.setenv("ORCH_DATABASE_URL", f"sqlite:///{tmp_path / 'orch.db'}")
    monkeypatch.setenv("ORCH_AUDIT_KEY", "tiny-key")
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 2 and "configuration error: audit key" in result.stderr
    assert "tiny-key" not in result.output


def test_a_database_from_before_keys_verifies_as_legacy_then_continues_keyed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine, "0004_slack_inbox")  # the schema before key ids
    prev = "0" * 64
    with engine.begin() as conn:
        for seq in (1, 2, 3):  # rows as the code before keys wrote them: plain sha256, no key_id column
            fields = dict.fromkeys(HASHED_FIELDS) | {
                "seq": seq,
                "at": T0 + timedelta(seconds=seq),
                "actor": "bot",
                "action": "job.ran",
                "payload": "{}",
                "prev_hash": prev,
            }
            prev = entry_hash(fields)
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) "
                    "VALUES (:seq, :at, :actor, :action, :payload, :prev_hash, :hash)"
                ),
                {**fields, "at": fields["at"].replace(tzinfo=None).isoformat(sep=" "), "hash": prev},
            )
    upgrade(engine)
    keyring = load_keyring(_settings(tmp_path))  # type: ignore[arg-type]
    bind_keyring(engine, keyring)
    _append(engine, 2, start=3)
    result = verify_chain(engine, keyring=keyring)
    assert (result.ok, result.checked, result.legacy) == (True, 5, 3)
    engine.dispose()


def test_a_trailer_joins_the_message_trailer_paragraph_or_starts_one() -> None:
    with_trailers = compose_message("orch(G-0001): approve PRD v1", {"Goal-Id": "G-0001"})
    assert append_trailer(with_trailers, "Audit-Head", "7:" + "a" * 64) == (
        "orch(G-0001): approve PRD v1\n\nGoal-Id: G-0001\nAudit-Head: 7:" + "a" * 64 + "\n"
    )
    plain = compose_message("orch: scaffold tasks/ and docs/", None)
    assert append_trailer(plain, "Audit-Head", "1:" + "b" * 64) == (
        "orch: scaffold tasks/ and docs/\n\nAudit-Head: 1:" + "b" * 64 + "\n"
    )
