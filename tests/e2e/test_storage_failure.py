"""A request the bot cannot store is never acknowledged as done: the person is told, /healthz says so.

The database's disk is filled for real: SQLite's `max_page_count` is set to the file's current size
on every connection the bot takes, so any write that needs a new page fails with SQLite's own
"database or disk is full". For the web process of a split, the inbox file is replaced by a folder,
so the inbox cannot be opened at all.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from bot.local.stack import SANDBOX_BOT_TOKEN
from bot.observability.storage_health import NOT_RECORDED
from sandbox import Sandbox
from tests.conftest import Live
from tests.e2e.slack_helpers import start_goal
from tests.support.processes import OrchProcess, free_port

LONG_BRIEF = "Add a CSV export of monthly invoices. " + "Finance needs every column. " * 200


class Disk:
    """What the bot's database lets it write: everything (`state = None`), nothing that needs a new
    page (`"full"`: SQLite's own "database or disk is full"), or nothing at all (`"read_only"`)."""

    def __init__(self, live: Live) -> None:
        self.state: str | None = None
        self.path = Path(str(live.container.engine.url.database))
        event.listen(live.container.engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        pages = 1073741823
        if self.state == "full":
            with sqlite3.connect(self.path) as probe:
                pages = probe.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")
        dbapi_conn.execute(f"PRAGMA query_only = {1 if self.state == 'read_only' else 0}")


def health(live: Live) -> httpx.Response:
    return httpx.get(f"{live.bot.url}/healthz", timeout=5)


def rows(live: Live, sql: str) -> list[tuple[Any, ...]]:
    """Read the database on a connection of the test's own (the bot's connections are the ones limited)."""
    with sqlite3.connect(str(live.container.engine.url.database)) as conn:
        return conn.execute(sql).fetchall()


def test_a_full_disk_is_said_to_the_person_and_on_healthz_and_nothing_is_acknowledged_as_done(live: Live) -> None:
    _card, artifact = start_goal(live)
    disk = Disk(live)
    assert health(live).status_code == 200

    disk.state = "full"
    for n in range(3):
        answer = live.sb.slash("U_REQ", "C_DEV", f"start {LONG_BRIEF} #{n}")
        assert answer.status == 200 and "done" not in (answer.body or "").lower()
        live.sb.wait_for(lambda k=n + 1: len([m for m in live.sb.ephemerals("U_REQ") if m.text == NOT_RECORDED]) == k,
                         timeout=20, what=f"the person to be told that start #{n} was not recorded")
    assert rows(live, "SELECT id FROM goals") == [("G-0001",)]
    assert "disk is full" in health(live).json()["problems"]["database"]
    assert len([m for m in live.sb.messages("C_DEV") if "G-0002" in m.text]) == 0

    # An Approve click that cannot be stored is refused visibly, and the gate stays open.
    disk.state = "read_only"  # small writes could still fit in the pages the file has
    live.sb.click("U_APP1", artifact, "Approve")
    live.sb.wait_for(lambda: [m for m in live.sb.ephemerals("U_APP1") if m.text == NOT_RECORDED], timeout=20,
                     what="the approver to be told the click was not recorded")
    assert "Approve" in live.sb.message("C_DEV", artifact.ts).buttons
    assert rows(live, "SELECT count(*) FROM approvals") == [(0,)]

    unhealthy = health(live)
    assert unhealthy.status_code == 503 and "database" in unhealthy.json()["problems"]
    assert "readonly database" in unhealthy.json()["problems"]["database"]

    # Room again: the next request is kept, and the process reports healthy.
    disk.state = None
    assert live.sb.slash("U_REQ", "C_DEV", "start Add a PDF export").status == 200
    live.sb.wait_for_message("C_DEV", text_contains="G-0002", timeout=20)
    assert health(live).status_code == 200


@pytest.mark.slow
def test_a_web_process_that_cannot_write_its_inbox_says_so_in_the_answer(tmp_path: Path, target_repo: Path) -> None:
    secret = secrets.token_hex(16)
    port = free_port()
    db = tmp_path / "orch.db"
    env = {
        "SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN, "SLACK_SIGNING_SECRET": secret, "ORCH_PORT": str(port),
        "ORCH_DATABASE_URL": f"sqlite:///{db}", "ORCH_REPO": str(target_repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2", "ORCH_AGENT_BACKEND": "offline",
    }
    with Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN,
                 request_url=f"http://127.0.0.1:{port}/slack/events") as sb:
        env["SLACK_API_URL"] = sb.api_url
        web = OrchProcess(["serve", "--role", "web"], env).start()
        try:
            web.wait_for_line("orch ready")
            inbox = tmp_path / "orch.inbox.db"
            for leftover in tmp_path.glob("orch.inbox.db*"):
                leftover.unlink()
            inbox.mkdir()  # the inbox cannot be opened: where the file was is now a folder

            answer = sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
            assert answer.status == 200 and json.loads(answer.body)["text"] == NOT_RECORDED  # in the answer itself
            assert sb.wait_for(lambda: [m for m in sb.ephemerals("U_REQ") if m.text == NOT_RECORDED], timeout=10)
            status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert status.status_code == 503 and "inbox" in status.json()["problems"]
        finally:
            assert web.stop() is not None
