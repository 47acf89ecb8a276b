"""An agent job past its runtime SLA: the requester gets one DM with what it does and a Cancel button."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from bot.jobs.queue import goal_jobs
from bot.services.unit import Actor
from storage.models import Goal
from tests.conftest import start_live
from tests.integration.jobs_support import ManualClock, audit_actions, berlin, until, write_config

CONFIG = """
[sla]
job_runtime = "30m"
quiet_hours = "20:00-08:00"
[sla.phases.implementation]
job_runtime = "2h"
"""


def test_a_job_past_its_runtime_sla_dms_the_requester_once_outside_quiet_hours_and_cancel_stops_it(
    tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CONFIG", str(write_config(tmp_path, CONFIG)))
    monkeypatch.setenv("ORCH_JOB_HOLD", "draft/prd:before")  # the PRD's draft job parks once claimed
    clock = ManualClock(berlin(2025, 1, 14, 10, 0))
    live = start_live(tmp_path, target_repo, clock=clock, timezone="Europe/Berlin")
    try:
        live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
        engine, jobs = live.container.engine, live.container.jobs
        until(
            # The slash command acks first and stores the goal after: it may not exist yet.
            lambda: any(
                g.id == "G-0001" and g.status == "awaiting_approval" for g in live.container.goals.list()
            ),
            timeout=15,
            what="the scaffold check",
        )
        live.container.goals.decide(
            goal_id="G-0001", phase=None, sha256=None, decision="approve", actor=Actor("U_APP1")
        )
        job = until(
            # The Scaffold Check's job may still be finishing: look for the PRD's.
            lambda: next(
                (j for j in goal_jobs(engine, "G-0001") if j.status == "running" and j.phase == "prd"), None
            ),
            timeout=15,
            what="the PRD draft job to run",
        )
        assert job.description == "Drafting the PRD (v1)"

        assert jobs.sweep(now=berlin(2025, 1, 14, 10, 29)).overdue_jobs == []
        assert jobs.sweep(now=berlin(2025, 1, 14, 21, 0)).overdue_jobs == []  # quiet hours
        assert live.sb.dms("U_REQ") == []
        assert jobs.sweep(now=berlin(2025, 1, 15, 8, 0)).overdue_jobs == [job.id]
        dm = live.sb.wait_for(lambda: live.sb.dms("U_REQ"), what="the overdue-job DM")[0]
        assert dm.blocks[0]["text"]["text"] == (
            "🐢 *G-0001* Add a CSV export of monthly invoices: Drafting the PRD (v1) has run for 22h, "
            "past its runtime SLA of 30m."
        )
        record = dm.blocks[1]["elements"][0]["text"]
        assert f"Run `{job.run_id[:12]}`" in record and "attempt 1 of 3" in record and job.worker in record
        assert dm.buttons == ["Cancel"]
        assert jobs.sweep(now=berlin(2025, 1, 15, 9, 0)).overdue_jobs == []  # once per run

        live.sb.click("U_REQ", dm, "Cancel")
        until(
            lambda: [j.status for j in goal_jobs(engine, "G-0001")] == ["succeeded", "cancelled"],
            timeout=15,
            what="the job to be cancelled",
        )
        until(lambda: jobs.worker.active == 0, timeout=15, what="the worker to stop the running job")
        with Session(engine) as session:
            goal = session.get(Goal, "G-0001")
            assert goal is not None and goal.state == "cancelled"
        actions = [a for a, _ in audit_actions(engine, "G-0001")]
        assert actions.count("job.overdue") == 1
        assert actions.index("job.overdue") < actions.index("goal.cancelled") < actions.index("job.cancelled")
        overdue = dict(audit_actions(engine, "G-0001", "job.overdue"))["job.overdue"]
        assert overdue["to"] == ["U_REQ"] and overdue["running_for"] == "22h"
    finally:
        live.bot.stop()
        live.sb.stop()
