"""SIGKILL `orch serve` in the middle of an agent job; after a restart the job completes once.

The first process parks the PRD's draft job after the draft was recorded (and posted) but before
the job is marked done (`ORCH_JOB_HOLD=draft/prd`), while it keeps heartbeating; the test then
kills it with SIGKILL. The second process re-queues the job once its heartbeat is older than the lease,
runs it again, and the goal is walked to Done. The thread, `tasks/`, `docs/` and the git log
must each hold exactly one result.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.jobs.queue import goal_jobs
from bot.local.stack import SANDBOX_BOT_TOKEN
from sandbox import Sandbox
from storage.db import make_engine
from storage.models import Artifact
from tests.conftest import Live
from tests.integration.jobs_support import audit_actions, serve_env, until, wait_healthy, write_config
from tests.support.processes import OrchProcess, free_port

pytestmark = pytest.mark.slow
CONFIG = """
[jobs]
heartbeat_seconds = 0.2
lease_seconds = 3  # generous: a loaded CI machine can delay a heartbeat
backoff_seconds = 0.1
poll_seconds = 0.1
"""


def _serve(sb: Sandbox, secret: str, tmp_path: Path, repo: Path, config: Path, **extra: str) -> OrchProcess:
    port = free_port()
    env = serve_env(
        api_url=sb.api_url,
        secret=secret,
        token=SANDBOX_BOT_TOKEN,
        port=port,
        database_url=f"sqlite:///{tmp_path / 'orch.db'}",
        repo=repo,
        config=config,
        **extra,
    )
    process = OrchProcess(["serve"], env).start()
    process.wait_for_line("orch ready")
    wait_healthy(port)
    sb.request_url = f"http://127.0.0.1:{port}/slack/events"
    return process


def test_a_job_killed_mid_run_completes_once_after_restart(tmp_path: Path, target_repo: Path) -> None:
    secret = secrets.token_hex(16)
    config = write_config(tmp_path, CONFIG)
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    with Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN) as sb:
        first = _serve(sb, secret, tmp_path, target_repo, config, ORCH_JOB_HOLD="draft/prd")
        try:
            sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
            card = sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=30)
            scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
            sb.click("U_APP1", scaffold, "Approve")
            # The PRD draft is recorded and posted, but its job is still running (parked) at the kill.
            prd = sb.wait_for_message(
                "C_DEV", thread_ts=card.ts, button="Approve", after=scaffold, timeout=30
            )
            job = until(
                lambda: next((j for j in goal_jobs(engine, "G-0001") if j.phase == "prd"), None),
                timeout=10,
                what="the PRD job row",
            )
            assert (job.status, job.attempts) == ("running", 1)
        finally:
            assert first.proc is not None
            first.proc.kill()  # SIGKILL: no cleanup, no shutdown hooks
            first.proc.wait(10)
        assert first.proc.returncode == -9

        second = _serve(sb, secret, tmp_path, target_repo, config)
        try:
            done = until(
                lambda: next(
                    (j for j in goal_jobs(engine, "G-0001") if j.id == job.id and j.status == "succeeded"),
                    None,
                ),
                timeout=30,
                what="the re-queued job to complete",
            )
            assert done.attempts == 2
            clicks = Live(sb=sb, bot=None, settings=None).decide_all("U_APP1", card.ts)  # type: ignore[arg-type]
            assert clicks >= 5
        finally:
            second.stop()

    # The job ran twice (killed once) and completed once.
    requeued = [p["job"] for a, p in audit_actions(engine, "G-0001", "job.requeued")]
    assert requeued == [job.id]
    assert [j.status for j in goal_jobs(engine, "G-0001")] == ["succeeded"] * len(goal_jobs(engine, "G-0001"))

    # The thread: one message per artifact version, however often the job ran.
    with Session(engine) as session:
        artifacts = session.exec(
            select(Artifact).where(Artifact.goal_id == "G-0001").order_by(col(Artifact.id))
        ).all()
    keys = [(a.phase, a.task_id, a.version) for a in artifacts]
    assert len(keys) == len(set(keys)) and keys[:2] == [("scaffold_check", 0, 1), ("prd", 0, 1)]
    assert artifacts[1].message_ts == prd.ts  # the PRD shown before the kill is the one approved after
    thread = sb.thread("C_DEV", card.ts)
    shown = [m for m in thread if re.fullmatch(r"G-0001 \w+ v\d+", m.text)]
    assert len(shown) == len(artifacts)
    assert {m.ts for m in shown} == {a.message_ts for a in artifacts}
    assert sum(1 for m in thread if "is done:" in m.text) == 1

    # tasks/ and docs/: one canonical file per phase, one mirror section per approved version.
    assert (target_repo / "tasks" / "G-0001" / "scaffold-check.md").read_text() == artifacts[0].content
    index = json.loads((target_repo / "tasks" / "index.json").read_text())
    assert [g["id"] for g in index["goals"]] == ["G-0001"]
    for name in ("docs/PRD.md", "docs/TASKS.md", "docs/ACTION_PLAN.md"):
        markers = re.findall(r"<!-- orch:section (G-0001 \S+ v\d+)", (target_repo / name).read_text())
        assert len(markers) == 1, (name, markers)

    # The git log: every effect committed once.
    log = subprocess.run(
        ["git", "-C", str(target_repo), "log", "--format=%s%x1f%(trailers:key=Orch-Effect,valueonly)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    effects = [
        line.split("\x1f")[1].strip() for line in log.splitlines() if "\x1f" in line and line.split("\x1f")[1]
    ]
    assert effects and not [e for e, n in Counter(effects).items() if n > 1]
    subjects = [line.split("\x1f")[0] for line in log.splitlines() if "\x1f" in line]
    assert sum(1 for s in subjects if "goal done" in s) == 1
