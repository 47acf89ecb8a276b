"""The repository is part of the memory: a lost database reuses no goal id and is rebuilt from the repo.

Driven through `orch` in-process against a real git repository and real SQLite files: the database
file is deleted, as an operator would lose it, and the repository's state of record is what is left.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.sop.index import INDEX_PATH, load_index
from tests.support.sop_cli import APPROVERS, REQUESTER, OrchCli, git, git_log, setup_env

LEAD = APPROVERS[0]


@pytest.fixture
def orch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[OrchCli, Path, Path]:
    repo = tmp_path / "repo"
    setup_env(monkeypatch, tmp_path, repo)
    return OrchCli(), repo, tmp_path / "orch.db"


def _lose_database(db: Path) -> None:
    for path in db.parent.glob(db.name + "*"):
        path.unlink()


def _walk_to_task_list(orch: OrchCli) -> None:
    orch("goal", "start", "Add CSV export of invoices", "--as", REQUESTER)
    orch("goal", "approve", "G-0001", "--as", LEAD)  # scaffold check
    orch("goal", "approve", "G-0001", "--as", LEAD)  # PRD


def test_a_lost_database_never_reuses_a_goal_id_the_repository_holds(
    orch: tuple[OrchCli, Path, Path],
) -> None:
    cli, repo, db = orch
    _walk_to_task_list(cli)
    _lose_database(db)

    started = cli("goal", "start", "Another goal", "--as", REQUESTER)

    assert "G-0002 started" in started.output
    assert [g.id for g in load_index(repo).goals] == ["G-0001", "G-0002"]


def test_repair_from_repo_restores_goals_artifacts_and_decisions_audited(
    orch: tuple[OrchCli, Path, Path],
) -> None:
    cli, repo, db = orch
    _walk_to_task_list(cli)
    cli("goal", "review", "G-0001", "--as", APPROVERS[1])  # a re-review is part of what is restored
    before = load_index(repo).goal("G-0001")
    assert before is not None
    _lose_database(db)

    restored = cli("repair", "--from-repo", "--as", LEAD)

    assert "restored G-0001" in restored.output
    shown = json.loads(cli("goal", "show", "G-0001", "--json").output)
    assert (shown["phase"], shown["status"]) == ("task_list", "awaiting_approval")
    after = load_index(repo).goal("G-0001")
    assert after is not None
    # Approved artifacts, decisions (re-reviews included) and tasks come back exactly as recorded;
    # the task list draft, never committed, is drafted again.
    assert [a for a in after.artifacts if a.approved_sha256] == [
        a for a in before.artifacts if a.approved_sha256
    ]
    assert after.approvals == before.approvals
    assert any(a.decision == "reaffirm" for a in after.approvals)
    restore = next(c for c in git_log(repo) if "restore the goal's database records" in c.subject)
    assert restore.trailers["Goal-Id"] == "G-0001"
    events = [json.loads(x) for x in (repo / "tasks/events.jsonl").read_text().splitlines()]
    assert [e["action"] for e in events].count("goal.restored") == 1
    assert len({e["id"] for e in events}) == len(events), "a new event took the number of an old one"
    assert "goal.restored" in cli("audit", "tail").output

    # The goal goes on from where the repository left it, and a second repair changes nothing.
    cli("goal", "approve", "G-0001", "--as", LEAD)
    assert load_index(repo).goal("G-0001").phase in ("spec", "action_plan")  # type: ignore[union-attr]
    again = cli("repair", "--from-repo", "--as", LEAD)
    assert "already in the database, left alone: G-0001" in again.output


def test_doctor_says_when_the_database_is_behind_the_repository(
    orch: tuple[OrchCli, Path, Path],
) -> None:
    cli, _repo, db = orch
    _walk_to_task_list(cli)
    _lose_database(db)

    report = cli("doctor", code=1)

    assert "G-0001 is in tasks/index.json but not in the database" in report.output
    assert "orch repair --from-repo" in report.output
    cli("repair", "--from-repo")
    assert "in step with the repository" in cli("doctor", code=1).output


def test_re_review_records_a_new_review_date_for_the_same_hash(
    orch: tuple[OrchCli, Path, Path],
) -> None:
    cli, repo, _db = orch
    _walk_to_task_list(cli)
    first = {a.phase: a for a in load_index(repo).goal("G-0001").artifacts}  # type: ignore[union-attr]

    cli("goal", "review", "G-0001", "--as", REQUESTER, code=1)  # separation of duties
    done = cli("goal", "review", "G-0001", "--as", LEAD, "--phase", "prd")

    assert "re-reviewed unchanged" in done.output and "PRD v1" in done.output
    after = {a.phase: a for a in load_index(repo).goal("G-0001").artifacts}  # type: ignore[union-attr]
    assert after["prd"].sha256 == first["prd"].sha256 == after["prd"].approved_sha256
    assert after["prd"].last_review > first["prd"].last_review  # type: ignore[operator]
    assert after["scaffold_check"].last_review == first["scaffold_check"].last_review
    commit = git_log(repo)[0]
    assert commit.subject.startswith("orch(G-0001): re-review PRD v1")
    assert commit.trailers["Approved-By"] == LEAD and commit.trailers["Phase"] == "prd"
    assert git(repo, "status", "--porcelain") == ""


def test_re_review_with_an_injected_clock_keeps_the_guard_green_past_the_old_limit(
    orch: tuple[OrchCli, Path, Path],
) -> None:
    import asyncio

    from bot.app import build_container
    from bot.config import load_settings
    from bot.services.reviews import reaffirm
    from bot.services.unit import Actor

    cli, repo, _db = orch
    _walk_to_task_list(cli)
    approved = load_index(repo).goal("G-0001").artifacts  # type: ignore[union-attr]
    t0 = max(a.last_review for a in approved if a.last_review is not None)
    later = (t0 + timedelta(days=45)).isoformat()
    stale = cli("spec-guard", "--repo", str(repo), "--now", later, code=1)
    assert "G-0001 prd: last reviewed 45 days ago (limit 30)" in stale.output

    reviewed_at = t0 + timedelta(days=40)
    c = build_container(load_settings(), clock=lambda: reviewed_at)
    done = reaffirm(c.goals, goal_id="G-0001", actor=Actor(LEAD))
    asyncio.run(c.dispatcher.drain(timeout=60))

    assert {r.phase for r in done} == {"scaffold_check", "prd"}
    cli("spec-guard", "--repo", str(repo), "--now", later)
    again_stale = (reviewed_at + timedelta(days=31)).isoformat()
    cli("spec-guard", "--repo", str(repo), "--now", again_stale, code=1)


def test_this_repository_passes_the_guard_after_its_re_review_date_moves_past_the_old_limit() -> None:
    """`.ci/run` ends with `orch spec-guard --repo .`; G-0001's PRD was last reviewed 2026-11-24 and would
    fail from 2026-12-24. After its re-review the guard passes on 2026-12-25 (the clock is injected)."""
    from typer.testing import CliRunner

    from bot.cli import app

    root = Path(__file__).resolve().parents[2]
    result = CliRunner().invoke(app, ["spec-guard", "--repo", str(root), "--now", "2026-12-25T12:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output
    goal = load_index(root).goal("G-0001")
    assert goal is not None and (root / INDEX_PATH).is_file()
    assert any(a.decision == "reaffirm" and a.by == "sop-engineer" for a in goal.approvals)
