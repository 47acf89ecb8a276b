"""PostgreSQL advisory locks, namespaced per schema, for work several replicas share.

Two-key locks `(namespace, id)`: the namespace is derived from the current schema, so separate
deployments (or test schemas) on one server never contend, and ids of different tables are kept
apart by using a different namespace offset per use. On SQLite there is one process (or one
machine with file locks elsewhere), and these helpers grant every request.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine

_NAMESPACES: dict[str, int] = {}
SCHEDULER = 0  # offsets added to the schema's namespace
EFFECTS = 1


def lock_namespace(engine: Engine, offset: int = 0) -> int:
    """A 31-bit number naming this deployment's schema (plus `offset`), for two-key advisory locks."""
    url = engine.url.render_as_string(hide_password=True)
    if url not in _NAMESPACES:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        _NAMESPACES[url] = zlib.crc32(f"orch:{schema}".encode()) & 0x3FFFFFFF
    return _NAMESPACES[url] + offset


@contextmanager
def claim(engine: Engine, offset: int, key: int) -> Iterator[bool]:
    """Hold the advisory lock `(namespace + offset, key)` for the block if nobody else holds it.

    Yields False (and holds nothing) when another session has it. The lock belongs to a session,
    so if this process dies PostgreSQL releases it when the connection drops.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    ns = lock_namespace(engine, offset)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        got = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": ns, "key": key}).scalar_one()
        )
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": ns, "key": key})
