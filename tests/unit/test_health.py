"""What counts as "the store cannot keep this", and how /healthz's state comes and goes."""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from bot.observability.storage_health import Health, describe, is_storage_error


def wrapped(exc: Exception, cls: type = OperationalError) -> Exception:
    return cls("INSERT INTO goals (brief) VALUES (?)", ("my secret brief",), exc)


def test_storage_errors_are_told_apart_from_the_requests_own_faults() -> None:
    assert is_storage_error(wrapped(sqlite3.OperationalError("database or disk is full")))
    assert is_storage_error(wrapped(sqlite3.OperationalError("attempt to write a readonly database")))
    assert is_storage_error(sqlite3.OperationalError("unable to open database file"))  # the inbox's own connection
    assert is_storage_error(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_storage_error(wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), IntegrityError))
    assert not is_storage_error(wrapped(sqlite3.ProgrammingError("bad"), ProgrammingError))
    assert not is_storage_error(ValueError("a bad button value"))
    assert not is_storage_error(OSError(errno.ENOENT, "No such file"))
    try:  # a service's own exception caused by the store's
        try:
            raise wrapped(sqlite3.OperationalError("database or disk is full"))
        except OperationalError as inner:
            raise RuntimeError("could not start the goal") from inner
    except RuntimeError as outer:
        assert is_storage_error(outer)


def test_the_reason_shown_never_carries_the_statement_or_its_parameters() -> None:
    reason = describe(wrapped(sqlite3.OperationalError("database or disk is full")))
    assert reason == "OperationalError: database or disk is full"
    assert "secret" not in reason and "INSERT" not in reason


def test_a_store_is_failing_until_its_probe_write_goes_through() -> None:
    health = Health()
    room = {"left": False}

    def probe() -> None:
        if not room["left"]:
            raise wrapped(sqlite3.OperationalError("database or disk is full"))

    health._probes["database"] = probe
    assert health.healthy
    health.failed("database", wrapped(sqlite3.OperationalError("database or disk is full")))
    health.failed("inbox", sqlite3.OperationalError("unable to open database file"))
    assert not health.healthy
    assert health.problems() == {
        "database": "OperationalError: database or disk is full",
        "inbox": "OperationalError: unable to open database file",
    }
    health.recheck()
    assert set(health.problems()) == {"database", "inbox"}
    room["left"] = True
    health.recheck()
    assert set(health.problems()) == {"inbox"}  # the inbox has no probe: its next kept request clears it
    health.ok("inbox")
    assert health.healthy
