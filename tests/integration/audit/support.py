"""What the audit log's tests share: tampering as an attacker who can drop the guards, and a row as stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.audit import AuditEntry, drop_audit_guards, install_audit_guards


def tamper(engine: Engine, *statements: str, params: dict[str, Any] | None = None) -> None:
    """Play an attacker who can drop the triggers: raw SQL, guards off, then back on."""
    with engine.begin() as conn:
        drop_audit_guards(conn)
        for statement in statements:
            conn.execute(text(statement), params or {})
        install_audit_guards(conn)


def row(engine: Engine, seq: int) -> dict[str, Any]:
    with Session(engine) as session:
        entry = session.get(AuditEntry, seq)
        assert entry is not None
        return entry.model_dump()
