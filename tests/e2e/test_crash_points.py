"""`orch serve` dies at injected points of one goal's flow and is restarted each time; the goal still
ends with exactly one of every message, mirror section and commit, and the audit chain verifies.

The crashes, in order, each in a fresh process on the same database, repository and Slack:
the first publish between mirror write and git commit, the first Slack post before its ts is stored,
the first state commit before any of its effects ran, a build job after the builder wrote the worktree,
and a plain SIGKILL right after an approval click.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bot.local.stack import SANDBOX_BOT_TOKEN
from sandbox import DeliveryError, Sandbox
from tests.support.processes import OrchProcess, free_port

pytestmark = pytest.mark.slow

POINTS = ["after_mirror_write", "after_slack_post", "after_state_commit", "during_agent_job"]
BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."
# Fast job leases, so a build left running by a killed process is taken up again within a second.
JOBS_TOML = "[jobs]\nlease_seconds = 1\nheartbeat_seconds = 0.3\nbackoff_seconds = 0.2\npoll_seconds = 0.2\n"


class Flow:
    """One goal driven through restarts: start it, then approve each artifact as it comes."""

    def __init__(self, sb: Sandbox, env: dict[str, str], db: Path) -> None:
        self.sb, self.env, self.db = sb, env, db
        self.card_ts: str | None = None
        self.clicked: set[str] = set()
        self.server: OrchProcess | None = None

    def serve(self, fault: str | None) -> OrchProcess:
        env = dict(self.env, **({"ORCH_FAULT": fault} if fault else {}))
        # A click the dead process never handled left its button in place; a person clicks again.
        self.clicked.clear()
        server = self.server = OrchProcess(["serve"], env).start()
        # When the process ends, wake every wait on the sandbox so it can notice.
        threading.Thread(
            target=lambda: (server.proc.wait(), self.sb.state.changed()),  # type: ignore[union-attr]
            daemon=True,
        ).start()
        try:
            server.wait_for_line("orch ready")
            # "ready" is logged during startup, just before the port listens: connect with retries.
            with httpx.Client(transport=httpx.HTTPTransport(retries=6)) as client:
                health = client.get(f"http://127.0.0.1:{self.env['ORCH_PORT']}/healthz", timeout=10)
            assert health.status_code == 200
        except (AssertionError, httpx.HTTPError):
            assert server.proc is not None
            server.proc.wait(10)  # an armed point can fire while the restart finishes earlier work
        return server

    def dead(self) -> bool:
        return (
            self.server is not None and self.server.proc is not None and self.server.proc.poll() is not None
        )

    def next_step(self) -> str:
        """Wait until the process died, the goal is done, or an artifact waits for approval (click it)."""
        sb = self.sb

        def ready() -> str | None:
            if self.dead():
                return "died"
            if self.card_ts is None:
                card = sb.find_message("C_DEV", text_contains="G-0001")
                if card is None:
                    return None
                self.card_ts = card.ts
            thread = sb.thread("C_DEV", self.card_ts)
            if any("is done" in m.text for m in thread):
                return "done"
            waiting = [m for m in thread if "Approve" in m.buttons and m.ts not in self.clicked]
            return "approve" if waiting else None

        state = sb.wait_for(ready, timeout=60, what="the flow to move on or the bot to die")
        if state == "approve":
            target = next(
                m
                for m in sb.thread("C_DEV", self.card_ts or "")
                if "Approve" in m.buttons and m.ts not in self.clicked
            )
            self.clicked.add(target.ts)
            with contextlib.suppress(DeliveryError):  # it died under the click; the next step sees that
                sb.click("U_APP1", target, "Approve")
        return state

    def run_until_dead(self) -> int:
        while (state := self.next_step()) != "died":
            assert state != "done", "the goal finished before the armed fault point was reached"
        assert self.server is not None and self.server.proc is not None
        return self.server.proc.wait(10)


def audit_verify(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_goal_survives_a_crash_at_each_point_and_ends_with_one_of_everything(
    tmp_path: Path, target_repo: Path
) -> None:
    secret, port, db = secrets.token_hex(16), free_port(), tmp_path / "orch.db"
    (tmp_path / "orch.toml").write_text(JOBS_TOML)
    env = {
        "SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": secret,
        "ORCH_PORT": str(port),
        "ORCH_DATABASE_URL": f"sqlite:///{db}",
        "ORCH_REPO": str(target_repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2",
        "ORCH_AGENT_BACKEND": "offline",
        "ORCH_CONFIG": str(tmp_path / "orch.toml"),
        "ORCH_RUNS_DIR": str(tmp_path / ".runs"),
    }
    with Sandbox(
        signing_secret=secret,
        bot_token=SANDBOX_BOT_TOKEN,
        request_url=f"http://127.0.0.1:{port}/slack/events",
    ) as sb:
        env["SLACK_API_URL"] = sb.api_url
        flow = Flow(sb, env, db)
        survived: list[str] = []
        try:
            for point in POINTS:
                flow.serve(point)
                if not survived:
                    sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
                assert flow.run_until_dead() == 86, f"{point} did not fire"
                survived.append(point)
            # A SIGKILL straight after an approval click, wherever the work then is.
            server = flow.serve(None)
            while flow.next_step() != "approve":
                pass
            assert server.proc is not None
            server.proc.kill()
            assert server.proc.wait(10) == -9
            survived.append("SIGKILL")
            flow.serve(None)
            while flow.next_step() != "done":
                pass
        finally:
            if flow.server is not None:
                flow.server.stop()
        thread = sb.thread("C_DEV", flow.card_ts or "")

    assert survived == [*POINTS, "SIGKILL"]
    # Exactly one of every message: each marker once, each artifact version once, one card, one done note.
    markers = Counter(
        b.get("block_id")
        for m in thread
        for b in m.raw.get("blocks", [])
        if str(b.get("block_id", "")).startswith("orch-")
    )
    assert markers and max(markers.values()) == 1, markers
    headers = Counter(
        h
        for m in thread
        for h in re.findall(r"(?im)^(\w[\w -]* v\d+ for g-0001(?: · task \d+)?)$", m.content.lower())
    )
    assert headers and max(headers.values()) == 1, headers
    assert sum("is done" in m.text for m in thread) == 1
    assert len([m for m in sb.messages("C_DEV") if "G-0001" in m.content]) == 1  # the card, once
    # Exactly one commit per step, and one mirror section per approved artifact.
    # Publishes queued at once share a commit (`orch: publish N changes`, a line and an `Orch-Effect`
    # trailer per step), so count the steps by their trailers and look for them in whole messages.
    log = subprocess.run(
        ["git", "-C", str(target_repo), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    steps = re.findall(r"(?m)^Orch-Effect: (.+)$", log)
    assert steps and len(steps) == len(set(steps)), Counter(steps).most_common(3)
    assert "goal done" in log and "merge task" in log
    subjects = subprocess.run(
        ["git", "-C", str(target_repo), "log", "--format=%s"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    single = [s for s in subjects if not s.startswith("orch: publish ")]
    assert len(single) == len(set(single)), Counter(single).most_common(3)
    for mirror in (target_repo / "docs").glob("*.md"):
        sections = [line for line in mirror.read_text().splitlines() if line.startswith("## G-0001")]
        assert len(sections) == len(set(sections)), (mirror.name, sections)
    with sqlite3.connect(db) as conn:
        effects = dict(conn.execute("SELECT status, count(*) FROM effects GROUP BY status").fetchall())
        goal = conn.execute("SELECT state FROM goals").fetchall()
    assert goal == [("done",)] and set(effects) == {"done"}, effects
    verified = audit_verify(env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
