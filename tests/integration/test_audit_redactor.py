"""Storage does not know what a secret looks like (that is bot.redact), so the audit log is only
as clean as the redactor bound at start-up: without one an append is refused, nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select

import storage.redaction
from storage.audit import AuditEntry, AuditRedactionError, append_audit
from storage.db import make_engine, transaction

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def test_an_append_without_a_bound_redactor_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    SQLModel.metadata.create_all(engine, tables=[AuditEntry.__table__])  # type: ignore[attr-defined]
    monkeypatch.setattr(storage.redaction, "_REDACTOR", None)
    with pytest.raises(AuditRedactionError, match="bind_redactor"), transaction(engine) as session:
        append_audit(session, actor="U0ADMIN", action="mode.elevated", justification="token sk-FAKE", at=T0)
    with Session(engine) as session:
        assert session.exec(select(AuditEntry)).all() == []
    engine.dispose()
