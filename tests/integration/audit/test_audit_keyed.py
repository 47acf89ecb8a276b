"""The keyed chain: entries MACed under a key the database does not hold, legacy entries before
them, key rotation. Real SQLite and, when ORCH_TEST_POSTGRES_URL is set, real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from storage.audit import (
    append_audit,
    chain_head,
    entry_hash,
    hashes_at,
    verify_chain,
)
from storage.audit_keys import AuditKeyError, AuditKeyring, bind_keyring, key_id_for
from storage.db import transaction
from tests.integration.audit.support import row as _row
from tests.integration.audit.support import tamper as _tamper

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
OLD_KEY = b"old-audit-key-0123456789abcdef"
NEW_KEY = b"new-audit-key-fedcba9876543210"


def _append(engine: Engine, count: int, start: int = 0) -> None:
    with transaction(engine) as session:
        for i in range(start, start + count):
            append_audit(
                session,
                actor=f"U{i:04d}",
                action="job.ran",
                goal_id="G-0001",
                payload={"i": i},
                at=T0 + timedelta(seconds=i),
            )


def test_keyed_entries_carry_the_key_id_and_verify_only_with_the_key(engine: Engine) -> None:
    keyring = AuditKeyring.of(NEW_KEY)
    bind_keyring(engine, keyring)
    _append(engine, 5)
    row = _row(engine, 3)
    assert row["key_id"] == key_id_for(NEW_KEY) == keyring.current_id
    assert row["hash"] != entry_hash(row)  # not a plain sha256 anyone could recompute
    result = verify_chain(engine, keyring=keyring)
    assert (result.ok, result.checked, result.legacy, result.head_seq) == (True, 5, 0, 5)
    assert result.head_hash == chain_head(engine)[1]  # type: ignore[index]
    bind_keyring(engine, None)
    without = verify_chain(engine)
    assert (without.ok, without.kind, without.first_bad_seq) == (False, "unknown key", 1)
    wrong = verify_chain(engine, keyring=AuditKeyring.of(OLD_KEY))
    assert (wrong.ok, wrong.kind) == (False, "unknown key")


def test_a_legacy_chain_goes_on_verifying_and_keyed_entries_continue_it(engine: Engine) -> None:
    _append(engine, 4)  # written before keys: plain sha256
    keyring = AuditKeyring.of(NEW_KEY)
    assert verify_chain(engine, keyring=keyring).legacy == 4
    bind_keyring(engine, keyring)
    _append(engine, 3, start=4)
    result = verify_chain(engine, keyring=keyring)
    assert (result.ok, result.checked, result.legacy) == (True, 7, 4)
    assert _row(engine, 5)["prev_hash"] == _row(engine, 4)["hash"]


def test_a_legacy_entry_after_keyed_ones_is_a_forgery(engine: Engine) -> None:
    keyring = AuditKeyring.of(NEW_KEY)
    bind_keyring(engine, keyring)
    _append(engine, 5)
    # Edit entry 3 and recompute the rest of the chain as plain sha256: every hash fits.
    prev = _row(engine, 2)["hash"]
    for seq in range(3, 6):
        fields = {**_row(engine, seq), "key_id": None, "prev_hash": prev}
        if seq == 3:
            fields["actor"] = "mallory"
        fields["hash"] = prev = entry_hash(fields)
        _tamper(
            engine,
            "UPDATE audit_log SET actor = :actor, key_id = NULL, prev_hash = :p, hash = :h WHERE seq = :s",
            params={"actor": fields["actor"], "p": fields["prev_hash"], "h": fields["hash"], "s": seq},
        )
    result = verify_chain(engine, keyring=keyring)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "unkeyed", 3)


def test_an_edit_rehashed_without_the_key_is_caught_where_it_is(engine: Engine) -> None:
    keyring = AuditKeyring.of(NEW_KEY)
    bind_keyring(engine, keyring)
    _append(engine, 5)
    forged = {**_row(engine, 4), "actor": "mallory"}
    _tamper(
        engine,
        "UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 4",
        params={"h": entry_hash(forged)},
    )
    result = verify_chain(engine, keyring=keyring)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "edited", 4)


def test_renumbering_keyed_entries_is_named(engine: Engine) -> None:
    keyring = AuditKeyring.of(NEW_KEY)
    bind_keyring(engine, keyring)
    _append(engine, 6)
    _tamper(engine, "DELETE FROM audit_log WHERE seq = 3", "UPDATE audit_log SET seq = seq - 1 WHERE seq > 3")
    result = verify_chain(engine, keyring=keyring)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 3, "deleted")


def test_rotation_keeps_old_entries_verifiable_with_the_old_key_in_the_keyring(engine: Engine) -> None:
    bind_keyring(engine, AuditKeyring.of(OLD_KEY))
    _append(engine, 3)
    rotated = AuditKeyring.of(NEW_KEY, previous=[OLD_KEY])
    bind_keyring(engine, rotated)
    _append(engine, 3, start=3)
    assert {_row(engine, 1)["key_id"], _row(engine, 6)["key_id"]} == {
        key_id_for(OLD_KEY),
        key_id_for(NEW_KEY),
    }
    assert verify_chain(engine, keyring=rotated).ok
    dropped = verify_chain(engine, keyring=AuditKeyring.of(NEW_KEY))
    assert (dropped.ok, dropped.kind, dropped.first_bad_seq) == (False, "unknown key", 1)


def test_a_process_without_the_key_cannot_extend_a_keyed_chain(engine: Engine) -> None:
    bind_keyring(engine, AuditKeyring.of(NEW_KEY))
    _append(engine, 2)
    bind_keyring(engine, None)
    with pytest.raises(AuditKeyError, match="no audit key"):
        _append(engine, 1, start=2)
    assert chain_head(engine) is not None and chain_head(engine)[0] == 2  # type: ignore[index]
    assert hashes_at(engine, [1, 2, 9]).keys() == {1, 2}


def test_the_keyring_never_shows_its_keys() -> None:
    keyring = AuditKeyring.of(NEW_KEY, previous=[OLD_KEY])
    assert NEW_KEY.decode() not in repr(keyring) and OLD_KEY.decode() not in repr(keyring)
    assert keyring.current_id in repr(keyring)
    with pytest.raises(AuditKeyError, match="at least"):
        AuditKeyring.of(b"short")
