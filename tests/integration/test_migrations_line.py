"""The migrations form one line: a database is at one revision, and a new migration has one parent."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade


def test_there_is_one_head_and_only_the_merge_revision_has_several_parents() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [scripts.get_current_head()]
    merges = [r.revision for r in scripts.walk_revisions() if isinstance(r.down_revision, tuple)]
    assert merges == ["0005_merge_heads"]


def test_a_database_at_the_four_old_heads_upgrades_to_the_one_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    try:
        for old_head in ("0002_jobs", "0002_slack_surface", "0003_agent_runs", "0004_slack_inbox"):
            upgrade(engine, old_head)
        upgrade(engine)
        with engine.connect() as conn:
            at = {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
        assert at == {ScriptDirectory.from_config(alembic_config()).get_current_head()}
    finally:
        engine.dispose()
