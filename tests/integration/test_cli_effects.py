"""`orch effects list|retry` and `orch doctor` on an outbox with a failed commit: shown, re-run, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli import app
from storage.audit import AuditEntry
from storage.db import make_engine, transaction
from storage.migrate import upgrade
from storage.models import Effect, Goal

runner = CliRunner()
T0 = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def failed_commit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path) -> tuple[str, int]:
    url = f"sqlite:///{tmp_path / 'orch.db'}"
    monkeypatch.setenv("ORCH_DATABASE_URL", url)
    monkeypatch.setenv("ORCH_REPO", str(target_repo))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        session.add(
            Goal(
                id="G-0001", title="Invoices", brief="b", requester="U_REQ", phase="prd", status="drafting",
                phase_started_at=T0, created_at=T0, updated_at=T0,
            )
        )  # fmt: skip
        effect = Effect(
            key="publish:G-0001:state", kind="repo.publish_state", goal_id="G-0001", status="failed",
            attempts=40, last_error="GitError: the repository refused the commit", failing_since=T0,
            payload={"message": "orch(G-0001): update"}, created_at=T0,
        )  # fmt: skip
        session.add(effect)
        session.flush()
        assert effect.id is not None
        effect_id = effect.id
    engine.dispose()
    return url, effect_id


def test_list_shows_the_failed_effect_and_doctor_says_how_to_retry_it(failed_commit: tuple[str, int]) -> None:
    _url, effect_id = failed_commit
    listed = runner.invoke(app, ["effects", "list", "--status", "failed"])
    assert listed.exit_code == 0, listed.output
    assert f"#{effect_id}" in listed.output and "repo.publish_state" in listed.output
    assert "the repository refused the commit" in listed.output

    doctor = runner.invoke(app, ["doctor"])
    assert doctor.exit_code == 1
    assert "✗ outbox: 1 step(s) need a look" in doctor.output
    assert f"`orch effects retry {effect_id}`" in doctor.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["effects", "list", "--status", "bogus"], "unknown status"),
        (["effects", "retry"], "give one effect id or --goal"),
        (["effects", "retry", "999"], "There is no effect 999"),
        (["effects", "retry", "--goal", "G-0404"], "There is no goal G-0404"),
    ],
)
def test_bad_input_gets_a_clear_error_and_a_non_zero_exit(
    failed_commit: tuple[str, int], args: list[str], says: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and says in result.output, result.output


def test_retry_re_runs_the_failed_commit_once_and_audits_who_asked(failed_commit: tuple[str, int]) -> None:
    url, effect_id = failed_commit
    result = runner.invoke(app, ["effects", "retry", str(effect_id), "--as", "cli:ops"])
    assert result.exit_code == 0, result.output
    assert f"effect #{effect_id} repo.publish_state" in result.output
    engine = make_engine(url)
    with Session(engine) as session:
        row = session.get(Effect, effect_id)
        assert row is not None and row.status == "done"
        audit = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))).all()
    assert [(e.action, e.actor) for e in audit][-1:] == [("effect.retried", "cli:ops")]
    again = runner.invoke(app, ["effects", "retry", str(effect_id)])
    assert again.exit_code != 0 and "only a failed or waiting one is retried" in again.output
    engine.dispose()
