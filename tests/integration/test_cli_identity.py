"""The CLI's `--as` is a claim: every audit entry it makes also names the operating-system user."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from storage.audit import AuditEntry
from storage.db import make_engine
from tests.support.sop_cli import OrchCli, setup_env


def test_audit_entries_made_by_the_cli_name_the_os_user_beside_the_claimed_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path
) -> None:
    url = setup_env(monkeypatch, tmp_path, target_repo)
    monkeypatch.setenv("USER", "operator-kim")  # what getpass reads first
    monkeypatch.setenv("LOGNAME", "operator-kim")
    orch = OrchCli()
    orch("goal", "start", "Add CSV export of invoices", "--as", "U_REQ")
    orch("goal", "approve", "G-0001", "--as", "U_STRANGER", code=1)  # refused, and audited as such
    orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    orch("goal", "cancel", "G-0001", "--as", "U_REQ", "--reason", "done another way")

    engine = make_engine(url)
    with Session(engine) as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
    engine.dispose()
    by_people = [e for e in entries if e.actor.startswith("U_")]
    assert [(e.action, e.actor) for e in by_people] == [
        ("goal.started", "U_REQ"),
        ("decision.refused", "U_STRANGER"),
        ("artifact.approved", "U_LEAD"),
        ("goal.cancelled", "U_REQ"),
    ]
    assert {e.payload_dict().get("os_user") for e in by_people} == {"operator-kim"}
    # The bot's own entries are not a person's and carry no OS user.
    assert all("os_user" not in e.payload_dict() for e in entries if e.actor == "bot")
