"""The append-only, hash-chained audit log.

Every entry commits to its own fields, its sequence number and the hash of the entry before it,
so editing, deleting, inserting or reordering entries breaks the chain at a point `verify_chain`
can name. Append-only is enforced twice: by triggers in the database, and by the chain for whoever
can drop triggers.

An entry is written inside the caller's transaction, next to the state change it records, so the
two commit or roll back together. Appends are serialised so the chain never forks: on SQLite the
transaction already holds the write lock (`storage.db` begins with BEGIN IMMEDIATE); on
PostgreSQL a transaction-scoped advisory lock is taken before the head is read. The primary key
on `seq` and the unique `hash` make a fork impossible even if a caller gets that wrong: the
second writer fails instead.

Keyed entries (`key_id` set) are HMAC-SHA256 under a key the database does not hold (see
`storage.audit_keys`), so whoever can write the table still cannot recompute the chain. Entries
written before keys came in stay plain sha256 ("legacy"): they are accepted only as a prefix,
and the first keyed entry, which commits to the last legacy hash, vouches for them. A legacy
entry after a keyed one is a forgery.

What the chain cannot show: entries cut off the end, or a whole chain replaced. Compare
`chain_head()` with copies kept elsewhere (the `Audit-Head` trailer of the bot's commits, the
head file `orch audit verify` keeps) to cover that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from json.encoder import encode_basestring
from pathlib import PurePath
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from sqlalchemy import Column, DateTime, Dialect, Text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, col, select

from storage.audit_keys import KEY_ID_LENGTH, AuditKeyError, AuditKeyring, keyring_for
from storage.db import READ_ONLY

GENESIS_HASH = "0" * 64
# Any constant works as long as nothing else in the database uses it: "AUDIT" in ASCII.
ADVISORY_LOCK_KEY = 0x4155444954
APPEND_ONLY_MESSAGE = "audit_log is append-only"
VERIFY_BATCH = 5000


# --- redaction ---------------------------------------------------------------------------------
# The redactor the composition root binds lives in storage.redaction (no database imports, so the
# CLI can bind it before it knows whether a command needs the database).
from storage.redaction import AuditRedactionError, Redactor, bind_redactor  # noqa: E402
from storage.redaction import bound as _redactor  # noqa: E402

__all__ = ["AuditRedactionError", "Redactor", "bind_redactor"]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps the zone (timestamptz); SQLite has no zone, so values are stored as naive
    UTC and given their zone back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("audit timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column("at", UTCDateTime(), nullable=False, index=True))
    actor: str  # a Slack user id, or "bot", "system", "scheduler", "cli:<name>"
    action: str  # "goal.started", "artifact.approved", …
    goal_id: str | None = Field(default=None, index=True)
    phase: str | None = None
    artifact_sha256: str | None = None
    mode: str | None = None
    justification: str | None = None
    request_id: str | None = None
    run_id: str | None = None
    payload: str = Field(default="{}", sa_column=Column("payload", Text, nullable=False))
    # The key the entry's MAC was made with; None for a legacy (plain sha256) entry.
    key_id: str | None = Field(default=None, max_length=KEY_ID_LENGTH)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)

    def payload_dict(self) -> dict[str, Any]:
        loaded = json.loads(self.payload)
        return loaded if isinstance(loaded, dict) else {"value": loaded}


# The fields an entry's hash commits to, in the order they are written into the hashed document.
HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "goal_id",
    "phase",
    "artifact_sha256",
    "mode",
    "justification",
    "request_id",
    "run_id",
    "payload",
    "prev_hash",
)


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(fields: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of an entry's hashed fields,
    with `at` written as UTC ISO 8601 with microseconds."""
    return _hash_values(tuple(fields[name] for name in HASHED_FIELDS))


def _hash_values(values: tuple[Any, ...] | Any) -> str:
    return hashlib.sha256(_canonical(values).encode("utf-8")).hexdigest()


def entry_digest(fields: Mapping[str, Any], keyring: AuditKeyring | None) -> str:
    """What an entry's `hash` column must hold: its HMAC under its `key_id`, or for a legacy
    entry (no `key_id`) its sha256 (`entry_hash`)."""
    key_id = fields.get("key_id")
    if key_id is None:
        return entry_hash(fields)
    if keyring is None:
        raise AuditKeyError(f"entry {fields.get('seq')} is keyed ({key_id}) but no audit key was given")
    return keyring.mac(key_id, _canonical(tuple(fields[name] for name in HASHED_FIELDS)))


def _canonical_document(values: tuple[Any, ...] | Any) -> str:
    """The hashed text as defined: `_ENCODER` over a dict of the fields (`_canonical` is the fast
    way to write the same text)."""
    doc = dict(zip(HASHED_FIELDS, values, strict=False))
    doc["at"] = doc["at"].astimezone(UTC).isoformat(timespec="microseconds")
    return _ENCODER.encode(doc)


# `_ENCODER` writes a dict as its items in key order, each value as it would write it alone, so
# the document is a fixed template of the sorted field names with each value's JSON filled in.
_SORTED_INDEXES = tuple(sorted(range(len(HASHED_FIELDS)), key=HASHED_FIELDS.__getitem__))
_TEMPLATE = "{" + ",".join(f'"{HASHED_FIELDS[i]}":%s' for i in _SORTED_INDEXES) + "}"
_AT = HASHED_FIELDS.index("at")


def _canonical(values: tuple[Any, ...] | Any) -> str:
    # Verifying a long chain is bound by hashing; building a dict, sorting its keys and making a
    # new encoder for every entry was a fifth of `verify_chain`'s time.
    out = []
    for i in _SORTED_INDEXES:
        value = values[i]
        if i == _AT:
            out.append(encode_basestring(value.astimezone(UTC).isoformat(timespec="microseconds")))
        elif value is None:
            out.append("null")
        elif type(value) is str:
            out.append(encode_basestring(value))  # what `_ENCODER` calls for a string
        elif type(value) is int:
            out.append(int.__repr__(value))  # and for an int
        else:
            out.append(_ENCODER.encode(value))
    return _TEMPLATE % tuple(out)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"audit payload value of type {type(value).__name__} is not JSON-serialisable")


_JSON_SCALARS = (str, int, float, bool, type(None))
_PLAIN_DEPTH = 32


def _is_plain_json(value: Any, depth: int = 0) -> bool:
    """Whether `value` is made only of the exact types `json.loads` returns, so a JSON round trip
    would give it back unchanged (deep or cyclic values are left to the round trip to judge)."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return True
    if depth >= _PLAIN_DEPTH:
        return False
    if kind is dict:
        return all(type(k) is str and _is_plain_json(v, depth + 1) for k, v in value.items())
    if kind is list:
        return all(_is_plain_json(v, depth + 1) for v in value)
    return False


def _payload_text(payload: Mapping[str, Any] | None) -> str:
    if not payload:
        plain: Any = {}
    elif type(payload) is dict and _is_plain_json(payload):
        plain = payload  # redact_obj copies, so the caller's dict is not changed
    else:
        # Round-trip through JSON first so values turned into strings (paths, models) are redacted too.
        plain = json.loads(json.dumps(dict(payload), default=_json_default))
    return _ENCODER.encode(_redactor().obj(plain))


# --- writing -----------------------------------------------------------------------------------
#
# An append is two statements on the caller's connection: read the head, insert the entry. Built
# by the ORM they cost more than everything else together (a unit-of-work flush, a compiled
# query, a validated model), so they are SQL text built once per dialect and run on the driver's
# cursor of the session's own connection: the same transaction, so the caller's other writes and
# the entry still commit or roll back together, and queries in the session see the entry.

_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
_ROW_COLUMNS = (*HASHED_FIELDS, "hash", "key_id")
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@dataclass(frozen=True, slots=True)
class _DriverStatements:
    head: str
    insert: str
    at_param: Callable[[Any], Any] | None  # how the `at` column is bound (naive UTC text on SQLite)
    error: type[Exception]


_DRIVER_STATEMENTS: WeakKeyDictionary[Dialect, _DriverStatements | None] = WeakKeyDictionary()


def _driver_statements(dialect: Dialect) -> _DriverStatements | None:
    """The append's statements for this dialect's driver, or None to go through SQLAlchemy Core
    (a driver whose parameter style is not positional)."""
    try:
        return _DRIVER_STATEMENTS[dialect]
    except KeyError:
        pass
    mark = _PLACEHOLDERS.get(dialect.paramstyle)
    statements = None
    if mark is not None and dialect.loaded_dbapi is not None:
        quote = dialect.identifier_preparer.quote
        table, seq, hash_ = quote(_TABLE.name), quote("seq"), quote("hash")
        statements = _DriverStatements(
            head=f"SELECT {seq}, {hash_}, {quote('key_id')} FROM {table} ORDER BY {seq} DESC LIMIT 1",
            insert=f"INSERT INTO {table} ({', '.join(quote(c) for c in _ROW_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_ROW_COLUMNS))})",
            at_param=_TABLE.c.at.type.dialect_impl(dialect).bind_processor(dialect),
            error=dialect.loaded_dbapi.Error,
        )
    _DRIVER_STATEMENTS[dialect] = statements
    return statements


_HEAD = core_select(_TABLE.c.seq, _TABLE.c.hash, _TABLE.c.key_id).order_by(_TABLE.c.seq.desc()).limit(1)
_INSERT = _TABLE.insert()


def _lock_chain_head(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")


def _write_with_core(connection: Connection, make_row: Callable[[Any], tuple[Any, ...]]) -> tuple[Any, ...]:
    row = make_row(connection.execute(_HEAD).first())
    connection.execute(_INSERT, dict(zip(_ROW_COLUMNS, row, strict=True)))
    return row


def _write_with_driver(
    connection: Connection, sql: _DriverStatements, make_row: Callable[[Any], tuple[Any, ...]]
) -> tuple[Any, ...]:
    statement: str | None = None
    params: tuple[Any, ...] | None = None
    cursor = connection.connection.cursor()
    try:
        statement = sql.head
        cursor.execute(statement)
        row = make_row(cursor.fetchone())
        params = row
        if sql.at_param is not None:
            params = (*row[:_AT], sql.at_param(row[_AT]), *row[_AT + 1 :])
        statement = sql.insert
        cursor.execute(statement, params)
    except sql.error as exc:
        # The same exception classes SQLAlchemy raises (IntegrityError, OperationalError…).
        raise DBAPIError.instance(statement, params, exc, sql.error, dialect=connection.dialect) from exc
    finally:
        cursor.close()
    return row


_MAPPER = sa_inspect(AuditEntry)


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    """The written row as an entry, built as the ORM builds a loaded row (no validation: every
    value was made here), detached: the session loads its own copy when it is queried."""
    if not _MAPPER.configured:
        configure_mappers()  # what constructing or querying a model would do first
    entry: AuditEntry = _MAPPER.class_manager.new_instance()
    entry.__dict__.update(zip(_ROW_COLUMNS, row, strict=True))
    make_transient_to_detached(entry)
    return entry


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    goal_id: str | None = None,
    phase: str | None = None,
    artifact_sha256: str | None = None,
    mode: str | None = None,
    justification: str | None = None,
    request_id: str | None = None,
    run_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction and return it (written, not committed).

    The payload and the justification are redacted before they are stored and hashed. The entry
    is written on the session's connection after the session's pending changes, so queries in
    the session see it; the returned object itself is detached (a copy of the row).

    With a keyring bound to the session's engine (`storage.audit_keys.bind_keyring`) the entry is
    MACed under the current key; without one it is a legacy sha256 entry, which is refused once
    the chain is keyed (it would break the chain where it lands).
    """
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    # Everything that does not depend on the head is prepared before the chain lock is taken.
    at_utc = at.astimezone(UTC)
    justification = _redactor().text(justification) if justification is not None else None
    payload_text = _payload_text(payload)

    def make_row(head: Any) -> tuple[Any, ...]:
        seq, prev_hash = (1, GENESIS_HASH) if head is None or head[0] is None else (head[0] + 1, head[1])
        if keyring is None and head is not None and head[2] is not None:
            raise AuditKeyError(
                "the audit log is keyed but this process has no audit key "
                "(set ORCH_AUDIT_KEY or the data directory the key was generated in)"
            )
        values = (
            seq,
            at_utc,
            actor,
            action,
            goal_id,
            phase,
            artifact_sha256,
            mode,
            justification,
            request_id,
            run_id,
            payload_text,
            prev_hash,
        )
        if keyring is None:
            return (*values, _hash_values(values), None)
        return (*values, keyring.mac(keyring.current_id, _canonical(values)), keyring.current_id)

    connection = session.connection()
    keyring = keyring_for(connection.engine)
    _lock_chain_head(connection)
    session.flush()  # the caller's pending writes go first, as the ORM's own flush ordered them
    statements = _driver_statements(connection.dialect)
    if statements is None:
        row = _write_with_core(connection, make_row)
    else:
        row = _write_with_driver(connection, statements, make_row)
    return _entry(row)


# --- guards ------------------------------------------------------------------------------------

_SQLITE_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
)
_POSTGRES_GUARDS = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END $$",
    "DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log",
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def install_audit_guards(connection: Connection) -> None:
    """Make `audit_log` append-only with triggers (idempotent; Alembic calls it after create)."""
    statements = _SQLITE_GUARDS if connection.dialect.name == "sqlite" else _POSTGRES_GUARDS
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop_audit_guards(connection: Connection) -> None:
    """Remove the triggers again (for a migration's downgrade)."""
    if connection.dialect.name == "sqlite":
        statements: tuple[str, ...] = (
            "DROP TRIGGER IF EXISTS audit_log_no_update",
            "DROP TRIGGER IF EXISTS audit_log_no_delete",
        )
    else:
        statements = (
            "DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log",
            "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
            "DROP FUNCTION IF EXISTS audit_log_append_only()",
        )
    for statement in statements:
        connection.exec_driver_sql(statement)


# --- reading -----------------------------------------------------------------------------------


def iter_entries(
    session: Session, *, goal_id: str | None = None, since: datetime | None = None, limit: int | None = None
) -> Iterator[AuditEntry]:
    """Entries in chain order, optionally for one goal and/or at or after `since`."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.seq))
    if goal_id is not None:
        stmt = stmt.where(AuditEntry.goal_id == goal_id)
    if since is not None:
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        stmt = stmt.where(col(AuditEntry.at) >= since)
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from session.exec(stmt.execution_options(yield_per=1000))


def tail(session: Session, n: int = 20) -> list[AuditEntry]:
    """The last `n` entries, oldest first."""
    stmt = select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(n)
    return list(reversed(session.exec(stmt).all()))


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int  # entries verified good before the first bad one (all of them when ok)
    first_bad_seq: int | None = None
    reason: str | None = None
    kind: str | None = None  # "edited", "deleted", "inserted", "reordered", "unkeyed" or "unknown key"
    legacy: int = 0  # how many of the checked entries are plain sha256 (written before keys)
    head_seq: int | None = None  # the last entry checked, to compare with a copy kept elsewhere
    head_hash: str | None = None


_COLUMN_NAMES = (*HASHED_FIELDS, "hash", "key_id")
_COLUMNS = tuple(AuditEntry.__table__.c[name] for name in _COLUMN_NAMES)  # type: ignore[attr-defined]
_SEQ, _PREV, _HASH, _KEY = 0, len(HASHED_FIELDS) - 1, len(HASHED_FIELDS), len(HASHED_FIELDS) + 1


def _batches(source: Session | Engine | Connection, after: int, size: int) -> Iterator[list[Any]]:
    """Rows of `_COLUMNS` after a seq, in seq order, `size` at a time (keyset pagination)."""
    while True:
        stmt = core_select(*_COLUMNS).where(_COLUMNS[_SEQ] > after).order_by(_COLUMNS[_SEQ]).limit(size)
        rows = _read(source, stmt)
        if not rows:
            return
        yield rows
        after = rows[-1][_SEQ]
        if len(rows) < size:
            return


def _read(source: Session | Engine | Connection, stmt: Any) -> list[Any]:
    if isinstance(source, Engine):
        # A short read-only transaction per read: on SQLite it takes no write lock, so appends
        # (and the commit that asked for the head) never wait for a verification.
        with source.connect().execution_options(**{READ_ONLY: True}) as conn:
            return list(conn.execute(stmt).all())
    conn = source.connection() if isinstance(source, Session) else source
    return list(conn.execute(stmt).all())


def verify_chain(
    source: Session | Engine | Connection,
    *,
    keyring: AuditKeyring | None = None,
    batch_size: int = VERIFY_BATCH,
) -> VerifyResult:
    """Recompute every hash, MAC and link in seq order; name the first bad entry and how it went bad.

    Legacy (unkeyed) entries are accepted only before the first keyed one; a keyed entry needs its
    key in `keyring` (by default the keyring bound to the source's engine).
    """
    if keyring is None:
        keyring = keyring_for(_engine_of(source))
    expected_seq, expected_prev = 1, GENESIS_HASH
    checked = legacy = 0
    keyed_from: int | None = None
    keys = keyring.keys if keyring is not None else {}
    for rows in _batches(source, 0, batch_size):
        for row in rows:
            key_id = row[_KEY]
            if key_id is None:
                digest = _hash_values(row)
            elif key_id in keys:
                digest = keyring.mac(key_id, _canonical(row))  # type: ignore[union-attr]
            else:
                held = (
                    "is not in the keyring" if keyring is not None else "was not given (set ORCH_AUDIT_KEY)"
                )
                return VerifyResult(
                    ok=False,
                    checked=checked,
                    first_bad_seq=row[_SEQ],
                    reason=f"entry {row[_SEQ]} is signed with audit key {key_id}, which {held}",
                    kind="unknown key",
                    legacy=legacy,
                )
            if row[_SEQ] != expected_seq or row[_PREV] != expected_prev or digest != row[_HASH]:
                return _diagnose(source, _as_dict(row), expected_seq, checked, keyring, legacy)
            if key_id is None:
                if keyed_from is not None:
                    return VerifyResult(
                        ok=False,
                        checked=checked,
                        first_bad_seq=row[_SEQ],
                        reason=f"entry {row[_SEQ]} has no key although entries are keyed from "
                        f"{keyed_from} on: it was written or rewritten without the audit key",
                        kind="unkeyed",
                        legacy=legacy,
                    )
                legacy += 1
            elif keyed_from is None:
                keyed_from = row[_SEQ]
            expected_seq, expected_prev = expected_seq + 1, row[_HASH]
            checked += 1
    head_seq = expected_seq - 1 if checked else None
    head_hash = expected_prev if checked else None
    return VerifyResult(ok=True, checked=checked, legacy=legacy, head_seq=head_seq, head_hash=head_hash)


def _engine_of(source: Session | Engine | Connection) -> Engine:
    if isinstance(source, Session):
        bind = source.get_bind()
        return bind if isinstance(bind, Engine) else bind.engine
    return source if isinstance(source, Engine) else source.engine


def _as_dict(row: Any) -> dict[str, Any]:
    return dict(zip(_COLUMN_NAMES, row, strict=True))


def _diagnose(
    source: Session | Engine | Connection,
    row: dict[str, Any],
    seq: int,
    checked: int,
    keyring: AuditKeyring | None,
    legacy: int,
) -> VerifyResult:
    """Classify the first anomaly, looking at a few entries after it where that tells more."""

    def bad(at: int, kind: str, reason: str) -> VerifyResult:
        return VerifyResult(
            ok=False, checked=checked, first_bad_seq=at, reason=reason, kind=kind, legacy=legacy
        )

    if row["seq"] > seq:
        missing = f"entry {seq}" if row["seq"] == seq + 1 else f"entries {seq}..{row['seq'] - 1}"
        return bad(seq, "deleted", f"{missing} missing: the chain jumps from {seq - 1} to {row['seq']}")
    ahead = [_as_dict(r) for r in next(_batches(source, row["seq"], 8), [])]
    hashed_as = _hashed_seq(row, keyring)
    if hashed_as is None and ahead and _hashed_seq(ahead[0], keyring) == ahead[0]["seq"] - 1:
        # This entry is foreign and the next one was moved up to make room for it.
        return bad(seq, "inserted", f"entry {seq} was inserted; later entries were renumbered")
    if hashed_as is None:
        return bad(seq, "edited", f"entry {seq} no longer matches its hash")
    if hashed_as < seq:
        return bad(hashed_as, "inserted", f"entry {hashed_as} was inserted; later entries were renumbered")
    if hashed_as > seq:
        if any(later["hash"] == row["prev_hash"] for later in ahead):
            return bad(
                seq, "reordered", f"entry {seq} was written as {hashed_as}; its predecessor comes after it"
            )
        return bad(
            seq,
            "deleted",
            f"entries before the one written as {hashed_as} were removed and the rest renumbered",
        )
    # The entry matches its own hash, so what changed is the entry before it (rehashed after an
    # edit), or the chain start.
    if seq == 1:
        return bad(1, "edited", "entry 1 does not start from the genesis hash")
    return bad(seq - 1, "edited", f"entry {seq - 1} was rewritten: entry {seq} links to a different hash")


def _hashed_seq(row: dict[str, Any], keyring: AuditKeyring | None) -> int | None:
    """The seq this row's stored hash was computed with, if it is its own or a near neighbour."""
    if row["key_id"] is not None and (keyring is None or row["key_id"] not in keyring.keys):
        return None
    for delta in (0, -1, 1, -2, 2, -3, 3):
        if entry_digest({**row, "seq": row["seq"] + delta}, keyring) == row["hash"]:
            return int(row["seq"]) + delta
    return None


# --- the head, and copies of it kept elsewhere ---------------------------------------------------


def chain_head(source: Session | Engine | Connection) -> tuple[int, str] | None:
    """The last entry's seq and hash (its MAC when keyed), or None for an empty log."""
    rows = _read(source, _HEAD)
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def hashes_at(source: Session | Engine | Connection, seqs: Iterable[int]) -> dict[int, str]:
    """The stored hash of each of these entries that exists."""
    wanted = sorted(set(seqs))
    found: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        stmt = core_select(_TABLE.c.seq, _TABLE.c.hash).where(_TABLE.c.seq.in_(chunk))
        found.update((int(seq), str(hash_)) for seq, hash_ in _read(source, stmt))
    return found
