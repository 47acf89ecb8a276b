"""Two `orch serve` processes, each with its own data directory (its own clones), sharing one
PostgreSQL database and nothing else, deliver ten goals into one remote at once: ten merged pull
requests, and every commit the bot made is on the base branch exactly once."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.forge.remote import run_remote
from bot.local.stack import SANDBOX_BOT_TOKEN
from sandbox import Sandbox
from sandbox.github import GitHubStandIn
from storage.models import Effect, Goal
from tests.conftest import init_repo
from tests.e2e.test_github_delivery import HOOK_SECRET, TOKEN
from tests.support.databases import migrated_database
from tests.support.processes import OrchProcess, free_port

pytestmark = pytest.mark.slow  # two real processes, ten goals through every gate
GOALS = 10
TOPICS = [
    "a CSV export of monthly invoices",
    "a weekly digest email of overdue invoices",
    "a health endpoint that returns the version",
    "an audit page listing refunds",
    "a setting for the default currency",
    "a reminder before a card expires",
    "a search box on the customers page",
    "an archive for paid invoices",
    "a dark mode for the admin pages",
    "a rate limit on the public API",
]


def test_two_replicas_on_one_postgres_deliver_ten_goals_into_one_remote(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with migrated_database(request, tmp_path, "postgres") as (engine, url):
        hub = GitHubStandIn(tmp_path / "github", token=TOKEN).start()
        hub.create_repo("acme", "billing", seed=init_repo(tmp_path / "seed"))
        secret = secrets.token_hex(16)
        ports = [free_port(), free_port()]
        sb = Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN).start()
        replicas = [
            OrchProcess(
                ["serve"],
                {
                    "SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": secret,
                    "SLACK_API_URL": sb.api_url,
                    "ORCH_PORT": str(port),
                    "ORCH_DATABASE_URL": url,
                    "ORCH_DATA_DIR": str(tmp_path / f"data-{n}"),
                    "ORCH_REPO": hub.clone_url("acme", "billing"),
                    "GITHUB_TOKEN": TOKEN,
                    "GITHUB_API_URL": hub.api_url,
                    "GITHUB_WEBHOOK_SECRET": HOOK_SECRET,
                    "ORCH_APPROVERS": "U_APP1,U_APP2",
                    "ORCH_AGENT_BACKEND": "offline",
                    "ORCH_BUILDER": "offline",
                    "ORCH_START_DEDUPE_SECONDS": "0",
                },
            )
            for n, port in enumerate(ports)
        ]
        try:
            for replica in replicas:
                replica.start()
            for replica in replicas:
                replica.wait_for_line("orch ready", timeout=60)
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            hub.add_webhook(f"{urls[0]}/github/events", HOOK_SECRET)  # one webhook, as behind a balancer
            started = time.monotonic()
            for i, topic in enumerate(TOPICS[:GOALS]):
                sb.request_url = f"{urls[i % 2]}/slack/events"  # the balancer alternates
                sb.slash("U_REQ", "C_DEV", f"start Add {topic}.")
            cards = {
                f"G-{n:04d}": sb.wait_for_message("C_DEV", text_contains=f"G-{n:04d}", timeout=60)
                for n in range(1, GOALS + 1)
            }
            clicked: set[str] = set()
            merged: set[str] = set()
            deadline = time.monotonic() + 900
            turn = 0
            tick = threading.Event()
            while len(merged) < GOALS:
                assert time.monotonic() < deadline, f"only {sorted(merged)} merged; {sb.dump()}"
                for goal_id, card in cards.items():
                    thread = sb.thread("C_DEV", card.ts)
                    if any("merged into `main`" in m.text for m in thread):
                        merged.add(goal_id)
                        continue
                    for message in thread:
                        if "Approve" in message.buttons and message.ts not in clicked:
                            clicked.add(message.ts)
                            turn += 1
                            sb.request_url = f"{urls[turn % 2]}/slack/events"
                            sb.click("U_APP1", message, "Approve")
                tick.wait(0.2)
            elapsed = time.monotonic() - started
            fresh = tmp_path / "fresh"
            clone = hub.clone_url("acme", "billing")
            run_remote(["clone", "--quiet", "--", clone, str(fresh)], cwd=tmp_path, url=clone, token=TOKEN)
        finally:
            for replica in replicas:
                replica.stop()
            sb.stop()
            hub.stop()

        remote = hub.repo("acme/billing")
        pulls = list(remote.pulls.values())
        assert sorted(p["head"] for p in pulls if p["merged"]) == sorted(f"orch/{g}" for g in cards)
        log = subprocess.run(
            ["git", "-C", str(fresh), "log", "--format=%H%x1f%B%x1e", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        trailers: Counter[str] = Counter()
        for record in log.split("\x1e"):
            trailers.update(re.findall(r"^Orch-Effect: (\S+)$", record, flags=re.M))
        with Session(engine) as session:
            done = session.exec(
                select(Effect.key).where(
                    col(Effect.kind).in_(("repo.publish_artifact", "repo.publish_state", "repo.merge")),
                    Effect.status == "done",
                )
            ).all()
            states = {g.id: g.state for g in session.exec(select(Goal)).all()}
        assert states == {g: "done" for g in cards}
        duplicated = [key for key, n in trailers.items() if n > 1]
        lost = [key for key in done if key not in trailers]
        assert duplicated == [] and lost == []
        index = json.loads((fresh / "tasks" / "index.json").read_text())
        assert sorted(g["id"] for g in index["goals"]) == sorted(cards)
        print(
            f"\n{GOALS} goals through two replicas in {elapsed:.0f} s: {len(pulls)} pull requests, "
            f"{sum(p['merged'] for p in pulls)} merged, {len(trailers)} bot commits on main, "
            f"{len(done)} repository effects, 0 duplicated, 0 lost"
        )
