"""What `/healthz` reports beyond "started": whether the process can keep what it is asked to do.

A request the bot cannot store (the database's disk is full, the database is gone, the inbox file
cannot be written) must not be answered as if it were kept. The places that store requests report
here, and the main database is watched through SQLAlchemy's own engine events, so every use case's
transaction counts without each saying so. `/healthz` answers 503 while a store is failing.

When is a store well again? Not at the next commit that happens to go through: on a nearly full
disk small writes still fit in pages the file has while a request's rows do not. So a failing
database is probed with a real write of its own (a row large enough to need new pages, committed,
then deleted) each time /healthz is asked; the inbox is well again once a request is kept.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

from storage.db import transaction
from storage.models import Effect
from storage.repositories import Effects

log = logging.getLogger(__name__)

# What a person is told when their request could not be kept.
NOT_RECORDED = "⚠️ I could not record this (my storage is unavailable), so nothing was done. Please try again in a few minutes."
_OS_STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT}


def is_storage_error(exc: BaseException) -> bool:
    """A failure of the store itself (full, read-only, gone, locked for good), not of the request."""
    if isinstance(exc, (IntegrityError, ProgrammingError, DataError)):
        return False  # the request's own fault (a duplicate, a bad statement), not the store's
    if isinstance(exc, (DBAPIError, sqlite3.OperationalError, sqlite3.DatabaseError)):
        return not isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError))
    if isinstance(exc, OSError):
        return exc.errno in _OS_STORAGE_ERRNOS
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_storage_error(cause)


def describe(exc: BaseException) -> str:
    """The driver's own message, never the statement or its parameters (they hold people's text)."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(inner).__name__}: {inner}"[:300]


@dataclass
class Health:
    """Per store ("database", "inbox"): the error of its last failed write, until one succeeds."""

    _failing: dict[str, tuple[float, str]] = field(default_factory=dict)
    _probes: dict[str, Callable[[], None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, store: str, exc: BaseException) -> None:
        reason = describe(exc)
        with self._lock:
            first = store not in self._failing
            self._failing[store] = (self._failing.get(store, (time.time(), ""))[0], reason)
        if first:
            log.error("the %s cannot be written (%s); reporting unhealthy", store, reason)

    def ok(self, store: str) -> None:
        if store not in self._failing:  # the common case, without the lock
            return
        with self._lock:
            gone = self._failing.pop(store, None)
        if gone is not None:
            log.info("the %s can be written again; healthy", store)

    @property
    def healthy(self) -> bool:
        return not self._failing

    def problems(self) -> dict[str, str]:
        with self._lock:
            return {store: error[:300] for store, (_since, error) in self._failing.items()}

    def watch(self, engine: Engine, store: str = "database") -> None:
        """Follow an engine: a storage error marks the store failing; `recheck()` probes it."""

        def on_error(context: Any) -> None:
            exc = context.sqlalchemy_exception or context.original_exception
            if exc is not None and is_storage_error(exc):
                self.failed(store, exc)

        event.listen(engine, "handle_error", on_error)
        self._probes[store] = lambda: probe_write(engine)

    def recheck(self) -> None:
        """Probe each failing store that can be probed; a store whose probe write went through is well."""
        for store in list(self._failing):
            probe = self._probes.get(store)
            if probe is None:
                continue
            try:
                probe()
            except Exception as exc:  # still failing: keep the newest reason
                if is_storage_error(exc):
                    self.failed(store, exc)
                continue
            self.ok(store)


PROBE_BYTES = 64 * 1024  # more than a few pages: it cannot fit in the free space of existing ones


def probe_write(engine: Engine) -> None:
    """Write, commit and delete a row that needs new pages; raises what the database raises."""
    key = f"health-probe:{uuid.uuid4().hex}"
    with transaction(engine) as session:
        session.add(
            Effect(
                key=key,
                kind="health.probe",
                payload={"fill": "x" * PROBE_BYTES},
                status="done",  # never run by the dispatcher, which reads pending rows only
                created_at=datetime.now(UTC),
            )
        )
    with transaction(engine) as session:
        Effects(session).delete(key=key)
