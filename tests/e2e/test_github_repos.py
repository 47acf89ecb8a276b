"""Several repositories over real HTTP: `[repos.<name>]` in the settings, `/orch start --repo`, a
channel's default (`/orch repo use`, audited, and `channels` in the configuration), the start modal's
picker, per-repository approvers, each repository's own clones, and `delivery = "push"`."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.forge.remote import run_remote
from sandbox.github import GitHubStandIn
from storage.audit import AuditEntry
from storage.models import Goal
from tests.conftest import Live, init_repo, start_live
from tests.e2e.test_github_delivery import HOOK_SECRET, TOKEN

pytestmark = pytest.mark.slow  # the real bot and two stand-ins, whole goals over HTTP
BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."


@contextlib.contextmanager
def two_repos(tmp_path: Path) -> Iterator[tuple[Live, GitHubStandIn]]:
    hub = GitHubStandIn(tmp_path / "github", token=TOKEN).start()
    for name in ("web", "billing", "ops"):
        hub.create_repo("acme", name, seed=init_repo(tmp_path / f"seed-{name}"))
    live = start_live(
        tmp_path,
        hub.clone_url("acme", "web"),  # type: ignore[arg-type]
        github_token=TOKEN,
        github_api_url=hub.api_url,
        github_webhook_secret=HOOK_SECRET,
        data_dir=tmp_path / "data",
        repos={
            # U_OUT approves on billing only; C_GENERAL's goals go to billing unless told otherwise.
            "billing": {
                "url": hub.clone_url("acme", "billing"),
                "approvers": ["U_OUT"],
                "channels": ["C_GENERAL"],
            },
            "ops": {"url": hub.clone_url("acme", "ops"), "delivery": "push"},
        },
    )
    hub.add_webhook(f"{live.bot.url}/github/events", HOOK_SECRET)
    try:
        yield live, hub
    finally:
        live.bot.stop()
        live.sb.stop()
        hub.stop()


def _goal(live: Live, goal_id: str) -> Goal:
    with Session(live.container.engine) as session:
        goal = session.get(Goal, goal_id)
        assert goal is not None
        return goal


def _note(live: Live, channel: str, card_ts: str, text: str) -> Any:
    return live.sb.wait_for(
        lambda: next((m for m in live.sb.thread(channel, card_ts) if text in m.text), None),
        timeout=30,
        what=f"a thread message with {text!r}",
    )


def test_a_goal_started_with_repo_is_delivered_there_and_its_approvers_are_that_repositorys(
    tmp_path: Path,
) -> None:
    with two_repos(tmp_path) as (live, hub):
        assert live.settings.repos["billing"].delivery == "pull_request"
        live.sb.slash("U_REQ", "C_DEV", f"start --repo billing {BRIEF}")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        assert _goal(live, "G-0001").repo == "billing"
        live.sb.wait_for(
            lambda: "Repository: `billing`" in live.sb.message("C_DEV", card.ts).content,
            timeout=30,
            what="the repository on the card",
        )
        _note(live, "C_DEV", card.ts, "pull request opened")
        assert hub.repo("acme/billing").pulls[1]["head"] == "orch/G-0001"
        assert not hub.repo("acme/web").pulls  # the deployment's own repository saw nothing
        data = Path(live.settings.data_dir)
        assert (data / "repos" / "billing" / "goals" / "G-0001" / ".git").is_dir()

        # An unknown repository is refused and starts nothing.
        live.sb.slash("U_REQ", "C_DEV", f"start --repo payroll {BRIEF} again")
        live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="There is no repository `payroll`")

        # A goal on the deployment's repository: U_OUT (billing's approver only) may not decide it.
        live.sb.slash("U_REQ", "C_DEV", "start Send a weekly digest email of overdue invoices.")
        other = live.sb.wait_for_message("C_DEV", text_contains="G-0002")
        assert _goal(live, "G-0002").repo is None
        scaffold = live.sb.wait_for_message("C_DEV", thread_ts=other.ts, button="Approve")
        live.sb.click("U_OUT", scaffold, "Approve")
        live.sb.wait_for_ephemeral(
            "U_OUT", "C_DEV", text_contains="You are not an approver for this gate (G-0002"
        )
        assert "Approve" in live.sb.buttons(live.sb.message("C_DEV", scaffold.ts))

        # On billing U_OUT counts like a global approver, all the way to the merge.
        live.decide_all("U_OUT", card.ts)
        _note(live, "C_DEV", card.ts, "merged into `main`")
        assert hub.repo("acme/billing").pulls[1]["merged"]
        assert (data / "repos" / "acme+web" / "goals" / "G-0002" / ".git").is_dir()


def test_a_channel_default_is_set_audited_and_used_and_the_modal_offers_the_repositories(
    tmp_path: Path,
) -> None:
    with two_repos(tmp_path) as (live, _hub):
        live.sb.slash("U_REQ", "C_DEV", "repo use payroll")
        live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="There is no repository `payroll`")
        live.sb.slash("U_REQ", "C_DEV", "repo use billing")
        live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="now use the repository `billing`")
        with Session(live.container.engine) as session:
            entries = session.exec(
                select(AuditEntry).where(col(AuditEntry.action) == "channel.repo_set")
            ).all()
        assert [(e.actor, e.payload_dict()["repo"], e.payload_dict()["channel"]) for e in entries] == [
            ("U_REQ", "billing", "C_DEV")
        ]
        live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
        live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        assert _goal(live, "G-0001").repo == "billing"
        # A channel the configuration gives to billing.
        live.sb.slash("U_REQ", "C_GENERAL", "start Send a weekly digest email of overdue invoices.")
        live.sb.wait_for_message("C_GENERAL", text_contains="G-0002")
        assert _goal(live, "G-0002").repo == "billing"

        # The start modal's picker lists the repositories, the channel's default chosen.
        live.sb.slash("U_REQ", "C_DEV", "start")
        view = live.sb.wait_for_view("U_REQ", "orch_start_modal")
        picker = next(b for b in view.blocks if b.get("block_id") == "repo")
        assert [o["value"] for o in picker["element"]["options"]] == ["billing", "ops"]
        assert picker["element"]["initial_option"]["value"] == "billing"
        live.sb.submit_view(
            "U_REQ", {"title": "Ops runbook", "brief": "Write the on-call runbook.", "repo": "ops"}
        )
        live.sb.wait_for_message("C_DEV", text_contains="G-0003")
        assert _goal(live, "G-0003").repo == "ops"


def test_push_delivery_pushes_the_merged_result_to_the_base_branch(tmp_path: Path) -> None:
    with two_repos(tmp_path) as (live, hub):
        live.sb.slash("U_REQ", "C_DEV", f"start --repo ops {BRIEF}")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        live.decide_all("U_APP1", card.ts)
        _note(live, "C_DEV", card.ts, "merged into `main`")
        ops = hub.repo("acme/ops")
        assert not ops.pulls and ops.branch_sha("orch/G-0001") == ops.branch_sha("main")
        fresh = tmp_path / "fresh"
        url = hub.clone_url("acme", "ops")
        run_remote(["clone", "--quiet", "--", url, str(fresh)], cwd=tmp_path, url=url, token=TOKEN)
        log = subprocess.run(
            ["git", "-C", str(fresh), "log", "--format=%B", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Goal-Id: G-0001" in log and "Task-Id: " in log and "Phase: prd" in log
        assert (fresh / "tasks" / "G-0001" / "prd.md").exists()
