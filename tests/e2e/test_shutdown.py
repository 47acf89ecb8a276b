"""SIGTERM with work in flight: real `orch serve` and `orch worker` processes end cleanly (exit 0)
after finishing it, or give it back so that it resumes after a restart; a second signal ends at once."""

from __future__ import annotations

import json
import secrets
import signal
import sqlite3
from pathlib import Path

import pytest

from bot.local.stack import SANDBOX_BOT_TOKEN
from sandbox import Sandbox
from sandbox.models import ChatServer
from tests.e2e.test_failed_work import answers
from tests.integration.jobs_support import serve_env, until, wait_healthy, write_config
from tests.support.processes import OrchProcess, free_port

pytestmark = pytest.mark.slow
CONFIG = """
[jobs]
heartbeat_seconds = 0.2
lease_seconds = 2
backoff_seconds = 0.1
poll_seconds = 0.1
"""


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _actions(db: Path) -> list[str]:
    return [str(r[0]) for r in _rows(db, "SELECT action FROM audit_log ORDER BY seq")]


def _exit_status(process: OrchProcess, timeout: float) -> int:
    assert process.proc is not None
    return process.proc.wait(timeout)


def test_sigterm_lets_orch_serve_finish_a_running_draft_and_exit_0(tmp_path: Path, target_repo: Path) -> None:
    secret = secrets.token_hex(16)
    db = tmp_path / "orch.db"
    config = write_config(tmp_path, CONFIG)
    with ChatServer(answers()) as model, Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN) as sb:

        def serve() -> OrchProcess:
            port = free_port()
            env = serve_env(api_url=sb.api_url, secret=secret, token=SANDBOX_BOT_TOKEN, port=port,
                            database_url=f"sqlite:///{db}", repo=target_repo, config=config,
                            ORCH_AGENT_BACKEND="openai", OPENAI_BASE_URL=model.base_url,
                            ORCH_OPENAI_API="chat_completions", ORCH_IMPLEMENTER="direct",
                            ORCH_SHUTDOWN_GRACE="30")
            process = OrchProcess(["serve"], env).start()
            process.wait_for_line("orch ready")
            wait_healthy(port)
            sb.request_url = f"http://127.0.0.1:{port}/slack/events"
            return process

        first = serve()
        try:
            sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
            card = sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=30)
            scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
            model.fail_next(1, "hang")  # a slow model: the PRD draft is in flight at the signal
            sb.click("U_APP1", scaffold, "Approve")
            until(lambda: model.hanging == 1, timeout=30, what="the PRD draft to reach the model")

            assert first.proc is not None
            first.proc.send_signal(signal.SIGTERM)
            first.wait_for_line("running job(s) to finish")  # it stopped accepting and waits
            model.release()  # the model answers within the grace period
            assert _exit_status(first, 30) == 0
        finally:
            first.stop()

        # The draft finished before the exit: recorded once, its job succeeded, nothing released.
        assert _rows(db, "SELECT phase, version FROM artifacts WHERE phase = 'prd'") == [("prd", 1)]
        assert _rows(db, "SELECT status FROM jobs WHERE phase = 'prd'") == [("succeeded",)]
        assert "job.released" not in _actions(db)

        # What it had not sent yet (the PRD's message, perhaps) is sent after a restart.
        second = serve()
        try:
            prd = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", after=scaffold, timeout=30)
            assert "PRD" in prd.text
            assert len([m for m in sb.thread("C_DEV", card.ts) if "PRD v1 is ready for review" in m.text]) == 1
        finally:
            assert second.stop() is not None


def test_sigterm_gives_a_running_job_back_and_a_second_signal_exits_at_once(
    tmp_path: Path, target_repo: Path
) -> None:
    secret = secrets.token_hex(16)
    db = tmp_path / "orch.db"
    config = write_config(tmp_path, CONFIG)
    port = free_port()
    with Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN,
                 request_url=f"http://127.0.0.1:{port}/slack/events") as sb:
        env = serve_env(api_url=sb.api_url, secret=secret, token=SANDBOX_BOT_TOKEN, port=port,
                        database_url=f"sqlite:///{db}", repo=target_repo, config=config)
        web = OrchProcess(["serve", "--role", "web"], env).start()
        workers: list[OrchProcess] = []

        def worker(**extra: str) -> OrchProcess:
            process = OrchProcess(["worker"], {**env, **extra}).start()
            workers.append(process)
            process.wait_for_line("orch worker ready")
            return process

        try:
            web.wait_for_line("orch ready")
            # The PRD's draft job parks as soon as it is claimed: work in flight at every signal.
            first = worker(ORCH_JOB_HOLD="draft/prd:before", ORCH_SHUTDOWN_GRACE="60")
            sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
            card = sb.wait_for_message("C_DEV", text_contains="G-0001", timeout=30)
            scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
            sb.click("U_APP1", scaffold, "Approve")
            until(lambda: _rows(db, "SELECT status FROM jobs WHERE phase = 'prd'") == [("running",)],
                  timeout=30, what="the PRD job to run")

            # A second signal does not wait for the grace period.
            assert first.proc is not None
            first.proc.send_signal(signal.SIGTERM)
            first.wait_for_line("running job(s) to finish")
            first.proc.send_signal(signal.SIGTERM)
            assert _exit_status(first, 10) == 128 + signal.SIGTERM

            # A clean SIGTERM: the grace period runs out, the job is given back, the exit is 0.
            second = worker(ORCH_JOB_HOLD="draft/prd:before", ORCH_SHUTDOWN_GRACE="1")
            until(lambda: "job.requeued" in _actions(db) and _rows(
                db, "SELECT status FROM jobs WHERE phase = 'prd'") == [("running",)],
                timeout=30, what="the abandoned job to be re-queued and claimed again")
            assert second.proc is not None
            second.proc.send_signal(signal.SIGTERM)
            assert _exit_status(second, 20) == 0
            assert _rows(db, "SELECT status FROM jobs WHERE phase = 'prd'") == [("queued",)]
            assert "job.released" in _actions(db)

            # Restarted without the hold, the work resumes: the PRD is drafted and posted once.
            worker()
            sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD", timeout=30)
        finally:
            for process in workers:
                process.stop()
            assert web.stop() is not None
    released = [json.loads(r[0]) for r in _rows(db, "SELECT payload FROM audit_log WHERE action = 'job.released'")]
    assert len(released) == 1
    assert _rows(db, "SELECT count(*) FROM artifacts WHERE phase = 'prd'") == [(1,)]
