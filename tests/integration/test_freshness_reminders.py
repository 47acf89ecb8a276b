"""Freshness reminders over the wire: the real bot and the sandbox, time moved by hand (no sleeping).

Europe/Berlin, quiet hours 20:00–08:00. The Scaffold Check of G-0001 is approved on Saturday
8 March 2025 at 10:00 CET; it goes stale 30 days later, on 7 April (summer time since 30 March),
and its approvers hear of it 7 days before: at 11:00 CEST on 31 March, the same instant as 10:00
CET, so the daylight-saving change moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.jobs.digest import gather
from tests.conftest import Live, start_live
from tests.integration.jobs_support import ManualClock, audit_actions, berlin, write_config

CONFIG = """
[sla]
approval_sla = "400h"
approval_ttl = "2000h"
quiet_hours = "20:00-08:00"
"""
REMINDER = "Scaffold Check v1 of G-0001 goes stale on 7 Apr — Re-approve unchanged / Request changes"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(berlin(2025, 3, 8, 10, 0))


@pytest.fixture
def live(
    tmp_path: Path, target_repo: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Live]:
    monkeypatch.setenv("ORCH_CONFIG", str(write_config(tmp_path, CONFIG)))
    running = start_live(tmp_path, target_repo, clock=clock, timezone="Europe/Berlin")
    try:
        yield running
    finally:
        running.bot.stop()
        running.sb.stop()


def _approved_scaffold(live: Live) -> str:
    live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    artifact = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
    live.sb.click("U_APP1", artifact, "Approve")
    live.sb.wait_for_message("C_DEV", thread_ts=card.ts, text_contains="Approved by", timeout=30)
    return card.ts


def test_approvers_are_reminded_once_before_an_artifact_goes_stale_and_can_re_approve_it(
    live: Live, clock: ManualClock
) -> None:
    card_ts = _approved_scaffold(live)
    jobs = live.container.jobs

    # 10:59 CEST on 31 March is 09:59 CET: one minute early, whatever the wall clock says.
    assert jobs.remind_freshness(now=berlin(2025, 3, 31, 10, 59)).reminded == []
    report = jobs.remind_freshness(now=berlin(2025, 3, 31, 11, 0))
    assert report.reminded == ["G-0001:scaffold_check:v1"]
    note = live.sb.wait_for_message("C_DEV", thread_ts=card_ts, text_contains="goes stale on 7 Apr")
    assert note.buttons == ["Re-approve unchanged", "Request changes"]
    dm = live.sb.wait_for(lambda: live.sb.dms("U_APP2"), what="the freshness DM")[0]
    assert dm.content.startswith("🗓️ *Scaffold Check v1 of G-0001*") or REMINDER in dm.content
    assert live.sb.dms("U_REQ") == []  # the requester does not approve their own goal
    assert jobs.remind_freshness(now=berlin(2025, 4, 2, 12, 0)).reminded == []  # once per review cycle

    # The digest lists it under what goes stale this week.
    digest = gather(jobs.deps(), channel="C_DEV", now=berlin(2025, 4, 1, 9, 0))
    assert digest.view.going_stale and "goes stale on 7 Apr" in digest.view.going_stale[0]

    # Re-approve unchanged from the DM in the evening: a new review date for the same hash, committed.
    clock.now = berlin(2025, 4, 1, 21, 30)
    live.sb.click("U_APP2", dm, "Re-approve unchanged")
    live.sb.wait_for(lambda: [a for a, _ in audit_actions(live.container.engine, "G-0001", "artifact.reviewed")],
                     what="the re-review")  # fmt: skip
    live.bot.drain()  # the commit is an effect: wait for it (a commit wakes no waiter in the sandbox)
    commit = next(c for c in _log(live.repo) if "re-review Scaffold Check v1" in c)
    assert "Approved-By: U_APP2" in commit and "Phase: scaffold_check" in commit

    # The next cycle's reminder falls due at 21:30, in quiet hours: it waits for 08:00.
    due = berlin(2025, 4, 1, 21, 30) + timedelta(days=23)
    held = jobs.remind_freshness(now=due)
    assert held.reminded == [] and held.held_for_quiet_hours == 1
    assert jobs.remind_freshness(now=berlin(2025, 4, 25, 8, 0)).reminded == ["G-0001:scaffold_check:v1"]
    assert [a for a, _ in audit_actions(live.container.engine, "G-0001", "freshness.")] == [
        "freshness.reminded",
        "freshness.reminded",
    ]


def test_orch_review_asks_for_a_re_review_at_any_time_under_the_same_rules(
    live: Live, clock: ManualClock
) -> None:
    card_ts = _approved_scaffold(live)
    live.sb.slash("U_REQ", "C_DEV", "review G-0001")
    asked = live.sb.wait_for_message("C_DEV", thread_ts=card_ts, text_contains="asks for a re-review")
    assert "<@U_REQ> asks for a re-review" in asked.content and asked.buttons[0] == "Re-approve unchanged"
    assert live.sb.wait_for(lambda: live.sb.dms("U_APP1"), what="the re-review DM")

    # The requester (no approver) cannot re-approve; an approver asking for changes is told in the thread.
    live.sb.click("U_REQ", asked, "Re-approve unchanged")
    live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="You are not an approver")
    live.sb.click("U_APP1", asked, "Request changes")
    live.sb.wait_for_message(
        "C_DEV", thread_ts=card_ts, text_contains="asks for changes to Scaffold Check v1"
    )
    assert [a for a, _ in audit_actions(live.container.engine, "G-0001", "review.")] == [
        "review.requested",
        "review.changes_requested",
    ]
    live.sb.slash("U_REQ", "C_DEV", "review G-9999")
    live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="There is no goal G-9999")


def _log(repo: Path) -> list[str]:
    import subprocess

    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%B%x1e"], capture_output=True, text=True, check=True
    ).stdout
    return [c.strip() for c in out.split("\x1e") if c.strip()]
