"""The App Home: published when opened and again whenever something changes for that person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.services.unit import Actor
from tests.conftest import start_live
from tests.e2e.slack_helpers import start_goal


class Clock:
    """The bot's clock, moved by hand: ages and SLA texts without waiting."""

    def __init__(self) -> None:
        # Monday 09:00 UTC: the SLA counts business hours (09:00-17:00, Monday to Friday, in UTC here).
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.mark.slow
def test_the_home_shows_what_waits_for_me_with_age_and_sla_and_follows_changes(
    tmp_path: Path, target_repo: Path
) -> None:
    clock = Clock()
    live = start_live(tmp_path, target_repo, clock=clock)
    sb = live.sb
    try:
        _card, artifact = start_goal(live)
        clock.advance(minutes=90)
        opened = sb.open_home("U_APP1")
        assert opened.status == 200 and opened.elapsed < 3
        home = sb.wait_for(lambda: sb.home("U_APP1"), what="the approver's Home").render()
        assert "Waiting for your approval* (1)" in home
        assert "G-0001 · Add a CSV export of monthly invoices" in home
        assert "Scaffold Check v1 · waiting 1.5 h · SLA due in 2.5 h" in home
        assert "goal started · U_REQ" in home  # recent activity on what concerns them

        sb.open_home("U_REQ")
        mine = sb.wait_for(lambda: sb.home("U_REQ"), what="the requester's Home").render()
        assert "Waiting for your approval* (0)" in mine  # an approver never waits on themself here
        assert (
            "*Scaffold Check*\n│ • G-0001 · Add a CSV export of monthly invoices — awaiting approval" in mine
        )

        # A decision changes both Homes without anyone opening them again.
        opens = len([d for d in sb.deliveries if d.kind == "event:app_home_opened"])
        clock.advance(hours=5)
        sb.click("U_APP1", artifact, "Approve")
        sb.wait_for(
            # Posted at 15:30: 1.5 business hours today, 2.5 tomorrow → due Tuesday 11:30, 20 h away.
            lambda: "PRD v1 · waiting 0 min · SLA due in 20.0 h" in sb.home("U_APP1").render(),
            what="the approver's Home to move on to the PRD",
            timeout=20,
        )
        sb.wait_for(lambda: "*PRD*" in sb.home("U_REQ").render(), what="the requester's Home to follow")
        assert len([d for d in sb.deliveries if d.kind == "event:app_home_opened"]) == opens
        assert "artifact approved · U_APP1" in sb.home("U_REQ").render()

        # Left waiting past its SLA, the approval says so.
        clock.advance(hours=22)
        sb.open_home("U_APP1")
        sb.wait_for(lambda: "⚠️ SLA overdue by 2.0 h" in sb.home("U_APP1").render(), what="an overdue SLA")
    finally:
        live.bot.stop()
        sb.stop()


@pytest.mark.slow
def test_a_busy_home_stays_within_the_100_block_limit(tmp_path: Path, target_repo: Path) -> None:
    live = start_live(tmp_path, target_repo)
    try:
        for n in range(18):  # goals without a channel: no Slack traffic, only drafts
            live.container.goals.start_goal(brief=f"Goal number {n} with enough words", actor=Actor("U_REQ"))
        live.bot.drain()
        for user in ("U_APP1", "U_REQ"):
            live.sb.open_home(user)
            view = live.sb.wait_for(lambda u=user: live.sb.home(u), what=f"the Home of {user}")
            assert len(view.blocks) <= 100
        approver = live.sb.home("U_APP1").render()
        assert "Waiting for your approval* (18)" in approver and "…and 3 more waiting for you" in approver
        assert "Your goals* (18)" in live.sb.home("U_REQ").render()
    finally:
        live.bot.stop()
        live.sb.stop()
