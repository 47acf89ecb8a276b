"""The daily digest: 09:00 local across a daylight-saving change, on demand, and 500 goals in one message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.blocks.limits import check_message
from bot.jobs.scheduler import DIGEST_JOB_PREFIX, digest_trigger, wanted_jobs
from bot.services.unit import Actor, sha256_text
from storage.db import transaction
from storage.jobs_models import DigestRun, Job
from storage.models import Artifact, Goal
from tests.conftest import Live, make_settings, start_live
from tests.integration.jobs_support import BERLIN, ManualClock, audit_actions, berlin, until, write_config

CONFIG = """
[digest]
time = "09:00"
channels = ["C_DEV"]
"""


def _jobs_running(live: Live) -> int:
    with Session(live.container.engine) as session:
        return len(session.exec(select(Job).where(Job.status == "running")).all())


def _headers(live: Live) -> list[str]:
    return [
        m.blocks[0]["text"]["text"]
        for m in live.sb.messages("C_DEV")
        if m.blocks and m.blocks[0].get("block_id", "").startswith("orch-n")
    ]


def test_the_cron_trigger_fires_at_nine_local_time_on_both_sides_of_the_dst_change() -> None:
    trigger = digest_trigger("09:00", BERLIN)
    first = trigger.get_next_fire_time(None, berlin(2025, 3, 28, 12, 0))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert first is not None and second is not None
    assert first.astimezone(UTC) == datetime(2025, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert second.astimezone(UTC) == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_the_digest_is_posted_at_nine_local_each_day_across_dst_once_per_day_with_what_changed(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CONFIG", str(write_config(tmp_path, CONFIG)))
    clock = ManualClock(berlin(2025, 3, 29, 8, 30))
    live = start_live(tmp_path, target_repo, clock=clock, timezone="Europe/Berlin")
    try:
        jobs = live.container.jobs
        ids = {job_id for job_id, _func, _trigger in wanted_jobs(jobs)}
        assert f"{DIGEST_JOB_PREFIX}0900" in ids  # the scheduler's cron job for this time

        live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
        # The check's post may reach the thread a moment before its job is marked finished.
        until(lambda: _jobs_running(live) == 0, timeout=30, what="the Scaffold Check's job to finish")

        assert jobs.post_due_digests(now=berlin(2025, 3, 29, 8, 59)) == []
        assert jobs.post_due_digests(now=datetime(2025, 3, 29, 8, 0, tzinfo=UTC)) == ["C_DEV"]  # 09:00 CET
        live.sb.wait_for(lambda: _headers(live), what="the first digest")
        assert jobs.post_due_digests(now=berlin(2025, 3, 29, 9, 5)) == []  # once a day
        first = next(
            m for m in live.sb.messages("C_DEV") if m.blocks[0]["text"]["text"].startswith("Daily digest")
        )
        texts = [b["text"]["text"] for b in first.blocks if b["type"] == "section"]
        assert texts[0] == (
            "*1 active goal* in <#C_DEV>: Scaffold Check 1\n"
            "1 waiting for approval · 0 past their SLA · 0 jobs running · 0 failed · 0 completed"
        )
        assert texts[1] == (
            "⏳ *Waiting for approval* (1)\n• *G-0001* Add a CSV export of monthly invoices — "
            "Scaffold Check v1, waiting 30m, on <@U_APP1>, <@U_APP2>"
        )
        assert texts[4] == "✅ *Completed since Fri 28 Mar 09:00 CET* (0)\n_nothing yet_"

        # Saturday noon: U_APP1 approves the scaffold check; the PRD is drafted and waits.
        clock.now = berlin(2025, 3, 29, 12, 0)
        live.container.goals.decide(
            goal_id="G-0001", phase=None, sha256=None, decision="approve", actor=Actor("U_APP1")
        )
        until(
            lambda: (
                (g := live.container.goals.get("G-0001")).phase == "prd" and g.status == "awaiting_approval"
            ),
            timeout=30,
            what="the PRD to await approval",
        )

        # Sunday, after the clocks went forward: 09:00 CEST is 07:00 UTC, an hour earlier in UTC.
        assert jobs.post_due_digests(now=datetime(2025, 3, 30, 6, 59, tzinfo=UTC)) == []
        assert jobs.post_due_digests(now=datetime(2025, 3, 30, 7, 0, tzinfo=UTC)) == ["C_DEV"]
        live.sb.wait_for(lambda: len(_headers(live)) == 2, what="the second digest")
        assert _headers(live) == [
            "Daily digest · Saturday 29 March 2025",
            "Daily digest · Sunday 30 March 2025",
        ]
        second = next(
            m for m in live.sb.messages("C_DEV") if "Sunday 30 March" in m.blocks[0]["text"]["text"]
        )
        done = next(b["text"]["text"] for b in second.blocks if b.get("block_id") == "digest_done")
        assert done == (
            "✅ *Completed since Sat 29 Mar 09:00 CET* (1)\n"
            "• *G-0001* Add a CSV export of monthly invoices — Scaffold Check v1 approved by <@U_APP1>"
        )

        posted = audit_actions(live.container.engine, prefix="digest.posted")
        assert [(p["local_date"], p["kind"], p["waiting"], p["completed"]) for _, p in posted] == [
            ("2025-03-29", "scheduled", 1, 0),
            ("2025-03-30", "scheduled", 1, 1),
        ]
        # A digest missed by more than the catch-up window is skipped, not posted late in the evening.
        assert jobs.post_due_digests(now=berlin(2025, 3, 31, 20, 0)) == []
    finally:
        live.bot.stop()
        live.sb.stop()


def _add_goals(engine: object, n: int, now: datetime) -> None:
    with transaction(engine) as session:  # type: ignore[arg-type]
        for i in range(1, n + 1):
            gid = f"G-{i:04d}"
            waiting = i % 2 == 0
            session.add(
                Goal(
                    id=gid,
                    title=f"Goal number {i} with a reasonably long title to fill the lines",
                    brief="b",
                    requester="U_REQ",
                    channel_id="C_DEV",
                    phase="prd",
                    status="awaiting_approval" if waiting else "drafting",
                    state="active",
                    phase_started_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            if waiting:
                session.flush()
                session.add(
                    Artifact(
                        goal_id=gid,
                        phase="prd",
                        version=1,
                        content=f"PRD {i}",
                        sha256=sha256_text(f"PRD {i}"),
                        created_at=now - timedelta(hours=i % 50),
                    )
                )


def test_five_hundred_goals_fit_one_message_and_the_rest_is_attached_and_orch_digest_posts_now(
    tmp_path: Path, target_repo: Path
) -> None:
    clock = ManualClock(berlin(2025, 1, 14, 12, 0))
    live = start_live(tmp_path, target_repo, clock=clock, timezone="Europe/Berlin")
    try:
        _add_goals(live.container.engine, 500, clock.now)
        delivery = live.sb.slash("U_REQ", "C_DEV", "digest")
        assert delivery.status == 200
        digest = live.sb.wait_for(
            lambda: next(iter(live.sb.messages("C_DEV")), None), what="the digest", timeout=30
        )
        attached = live.sb.wait_for(
            lambda: next((m for m in live.sb.thread("C_DEV", digest.ts) if m.files), None),
            what="the full digest attached in its thread",
            timeout=30,
        )
        check_message(digest.blocks)  # Slack's limits: 50 blocks, section sizes, whole-message budget
        assert len(digest.blocks) == 8  # header, summary, four lists, the metrics, the note
        sections = {b["block_id"]: b["text"]["text"] for b in digest.blocks if b["type"] == "section"}
        assert sections["digest_summary"].startswith("*500 active goals* in <#C_DEV>: PRD 500\n250 waiting")
        assert sections["digest_waiting"].endswith("…and 240 more (in the attached file)")
        full = attached.files[0]["content"]
        assert sum(1 for line in full.splitlines() if line.startswith("• ") and "waiting" in line) >= 250
        assert "G-0500" in full and "G-0002" in full
        assert [p["kind"] for _, p in audit_actions(live.container.engine, prefix="digest.posted")] == [
            "manual"
        ]
        with Session(live.container.engine) as session:
            assert session.get(DigestRun, 1) is not None
        # A manual digest does not stand in for the scheduled one.
        assert live.container.jobs.post_due_digests(now=berlin(2025, 1, 14, 12, 0)) == ["C_DEV"]
    finally:
        live.bot.stop()
        live.sb.stop()


def test_orch_digest_dry_run_prints_the_digest_and_posts_nothing(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app import build_container
    from bot.cli import app

    settings = make_settings(tmp_path, target_repo)
    _add_goals(build_container(settings).engine, 24, datetime.now(UTC))
    for name, value in (
        ("ORCH_DATABASE_URL", settings.database_url),
        ("ORCH_REPO", str(target_repo)),
        ("ORCH_APPROVERS", "U_APP1,U_APP2"),
        ("ORCH_AGENT_BACKEND", "offline"),
    ):
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["digest", "--channel", "C_DEV", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Daily digest · ")
    assert "*24 active goals* in <#C_DEV>: PRD 24" in result.output
    assert "…and 2 more (in the attached file)" in result.output
    as_json = CliRunner().invoke(app, ["digest", "--channel", "C_DEV", "--dry-run", "--json"])
    assert json.loads(as_json.output)["blocks"][0]["text"]["text"].startswith("Daily digest")
    assert audit_actions(build_container(settings).engine, prefix="digest.") == []


def test_the_digest_carries_a_short_metrics_section_for_the_last_seven_days(tmp_path: Path) -> None:
    from bot.jobs.config import load_scheduler_config
    from bot.jobs.digest import gather
    from bot.jobs.sla import SlaDeps
    from bot.services.authority import ApproverDirectory
    from storage.db import make_engine
    from storage.migrate import upgrade
    from tests.integration.test_metrics import D1, D2, History, at

    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    h = History(engine, tmp_path / ".runs")
    h.audit(at(0, 9, 0), "goal.started", "G-0001", "scaffold_check")
    h.gate("G-0001", "prd", "p1", at(0, 9, 1), at(0, 9, 21))
    h.gate("G-0001", "task_list", "t1", at(0, 9, 22), at(0, 9, 42))
    h.gate("G-0001", "action_plan", "a1", at(0, 9, 43), at(0, 10, 3))
    h.build("G-0001", 1, "i1", at(0, 10, 4), at(0, 10, 9), at(0, 10, 29), "approved", D1)
    h.build("G-0001", 2, "i2", at(0, 10, 30), at(0, 10, 35), at(0, 10, 55), "approved", D2, tests="failed")
    config = load_scheduler_config(timezone="UTC", raw={})
    directory = ApproverDirectory(users=frozenset({"U_APP1"}), groups=(), resolve_group=lambda _g: [])
    deps = SlaDeps(engine=engine, directory=directory, policy=config.sla, runs_dir=tmp_path / ".runs")

    digest = gather(deps, channel="C_DEV", now=at(2, 9, 0))
    check_message(digest.blocks)
    section = next(b["text"]["text"] for b in digest.blocks if b.get("block_id") == "digest_metrics")
    assert section == (
        "📈 *Team metrics, last 7 days*\n"
        "• Gates approved before implementation: 1/1 (100.0%) — by people 1, with CLI/MCP approvals 0\n"
        "• Automation runs without manual fix-ups: 1/2 (50.0%)\n"
        "• Time to bootstrap (start → approved action plan): median 1 h 3 min, p90 1 h 3 min, "
        "range 1 h 3 min – 1 h 3 min over 1 goal(s)"
    )
    # A week later the goal is out of the window: the section says so rather than repeating old numbers.
    later = gather(deps, channel="C_DEV", now=at(9, 9, 0))
    text = next(b["text"]["text"] for b in later.blocks if b.get("block_id") == "digest_metrics")
    assert "Gates approved before implementation: no data yet" in text
    engine.dispose()
