"""Due cutoffs: one walk back from `now` per phase says, for any gate, what comparing `now` with
its `GateClock` says — across nights, weekends and the daylight-saving changes of a real zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.jobs.sla_policy import BusinessHours, CutoffsAt, gate_clock, policy_from_config

BERLIN = ZoneInfo("Europe/Berlin")
# Around the spring-forward (30 March) and fall-back (26 October) changes of 2025 in Berlin.
instants = st.one_of(
    st.datetimes(min_value=datetime(2025, 3, 20), max_value=datetime(2025, 4, 10), timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(2025, 10, 16), max_value=datetime(2025, 11, 5), timezones=st.just(UTC)),
)
policies = st.fixed_dictionaries(
    {
        "approval_sla": st.sampled_from(["30m", "4h", "8h", "1h30m", "2d", "0s"]),
        "approval_ttl": st.sampled_from(["72h", "5d", "3h"]),
        "expiry_warning": st.sampled_from(["12h", "24h", "0s", "4d"]),
        "escalation_factor": st.sampled_from([2.0, 1.5, 0.5, 1.0]),
        "business_hours": st.sampled_from(["09:00-17:00", "02:00-03:00", "00:00-24:00", "22:00-23:30"]),
        "business_days": st.sampled_from(["mon-fri", "all", "sun", "fri-mon"]),
    }
)


SUNDAYS_ALL_DAY = {
    "approval_sla": "8h",
    "approval_ttl": "72h",
    "expiry_warning": "12h",
    "escalation_factor": 1.5,
    "business_hours": "00:00-24:00",
    "business_days": "sun",
}


@settings(max_examples=400, deadline=None)
# Spring forward: Sunday 30 March 2025 has 23 hours, so 3 h of business time after its midnight is 04:00 CEST.
@example(raw=SUNDAYS_ALL_DAY, now=datetime(2025, 3, 30, 1, 0, 1, tzinfo=UTC), age_minutes=9300)
# Fall back: Sunday 26 October 2025 has 25 hours.
@example(raw=SUNDAYS_ALL_DAY, now=datetime(2025, 10, 26, 1, 30, tzinfo=UTC), age_minutes=9360)
@given(raw=policies, now=instants, age_minutes=st.integers(min_value=-120, max_value=9 * 24 * 60))
def test_cutoffs_agree_with_the_gate_clock(raw: dict[str, object], now: datetime, age_minutes: int) -> None:
    policy = policy_from_config(raw, timezone="Europe/Berlin")
    since = now - timedelta(minutes=age_minutes, microseconds=age_minutes * 7)
    clock = gate_clock(policy, "prd", since)
    cut = CutoffsAt(policy, now.astimezone(BERLIN)).of("prd")
    assert cut is not None
    assert (since <= cut.reminder) == (now >= clock.reminder_at)
    assert (since <= cut.escalation) == (now >= clock.escalation_at)
    assert (since <= cut.warning) == (now >= clock.warning_at)
    assert (since <= cut.expiry) == (now >= clock.expires_at)
    due = now >= min(clock.reminder_at, clock.escalation_at, clock.warning_at, clock.expires_at)
    assert due == (since <= cut.latest)


def test_the_cutoff_is_exact_to_the_microsecond_at_the_reminder_instant() -> None:
    policy = policy_from_config({"approval_sla": "4h"}, timezone="Europe/Berlin")
    since = datetime(2025, 1, 17, 15, 0, tzinfo=BERLIN)  # a Friday afternoon: due Monday 11:00
    at = gate_clock(policy, "prd", since).reminder_at
    assert at == datetime(2025, 1, 20, 11, 0, tzinfo=BERLIN)
    assert CutoffsAt(policy, at).of("prd").reminder == since  # type: ignore[union-attr]
    assert not CutoffsAt(policy, at - timedelta(microseconds=1)).reminder_due("prd", since)
    assert CutoffsAt(policy, at).reminder_due("prd", since)


def test_with_no_business_time_at_all_the_gate_clock_still_says_why() -> None:
    policy = policy_from_config({"business_hours": "09:00-09:00"}, timezone="UTC")
    cutoffs = CutoffsAt(policy, datetime(2025, 1, 14, 12, 0, tzinfo=UTC))
    assert cutoffs.of("prd") is None and cutoffs.latest() is None
    with pytest.raises(ValueError, match="no time at all"):
        cutoffs.reminder_due("prd", datetime(2025, 1, 14, 10, 0, tzinfo=UTC))


def test_latest_start_walks_back_over_the_weekend() -> None:
    hours = BusinessHours()
    monday_ten = datetime(2025, 1, 20, 10, 0, tzinfo=BERLIN)
    assert hours.latest_start(monday_ten, timedelta(hours=4), BERLIN) == datetime(
        2025, 1, 17, 14, 0, tzinfo=BERLIN
    )
    assert hours.latest_start(monday_ten, timedelta(0), BERLIN) == monday_ten


SUNDAYS = BusinessHours(start=0, end=24 * 60, days=frozenset({6}))


@pytest.mark.parametrize(
    ("since", "amount", "due"),
    [
        # Sunday 30 March 2025: 00:00 CET is 23:00 UTC, and the day has 23 hours (02:00 -> 03:00).
        (
            datetime(2025, 3, 29, 23, 0, tzinfo=UTC),
            timedelta(hours=3),
            datetime(2025, 3, 30, 2, 0, tzinfo=UTC),
        ),
        (
            datetime(2025, 3, 29, 23, 0, tzinfo=UTC),
            timedelta(hours=23),
            datetime(2025, 3, 30, 22, 0, tzinfo=UTC),
        ),
        # Nine business hours the Sunday before, three more after the next midnight.
        (
            datetime(2025, 3, 23, 14, 0, tzinfo=UTC),
            timedelta(hours=12),
            datetime(2025, 3, 30, 2, 0, tzinfo=UTC),
        ),
        # Sunday 26 October 2025: 00:00 CEST is 22:00 UTC the day before, and the day has 25 hours.
        (
            datetime(2025, 10, 25, 22, 0, tzinfo=UTC),
            timedelta(hours=4),
            datetime(2025, 10, 26, 2, 0, tzinfo=UTC),
        ),
        (
            datetime(2025, 10, 25, 22, 0, tzinfo=UTC),
            timedelta(hours=25),
            datetime(2025, 10, 26, 23, 0, tzinfo=UTC),
        ),
        (
            datetime(2025, 10, 25, 22, 0, tzinfo=UTC),
            timedelta(hours=26),
            datetime(2025, 11, 2, 0, 0, tzinfo=UTC),
        ),
        # The same walk with a start given on Berlin's wall clock: the answer is the same instant.
        (
            datetime(2025, 3, 30, 0, 0, tzinfo=BERLIN),
            timedelta(hours=3),
            datetime(2025, 3, 30, 4, 0, tzinfo=BERLIN),
        ),
    ],
)
def test_business_time_is_elapsed_time_across_a_daylight_saving_change(
    since: datetime, amount: timedelta, due: datetime
) -> None:
    assert SUNDAYS.add(since, amount, BERLIN) == due
    assert SUNDAYS.elapsed(since, due, BERLIN) == amount
    assert SUNDAYS.latest_start(due, amount, BERLIN) == since
    assert SUNDAYS.latest_start(due - timedelta(microseconds=1), amount, BERLIN) < since


def test_a_gate_clock_on_a_local_wall_clock_counts_calendar_time_on_the_instant() -> None:
    # Santiago springs forward at midnight: Saturday 7 September 2024 24:00 is Sunday 01:00.
    santiago = ZoneInfo("America/Santiago")
    policy = policy_from_config({"approval_ttl": "24h", "expiry_warning": "24h"}, timezone="America/Santiago")
    since = datetime(2024, 9, 7, 0, 0, tzinfo=santiago)
    clock = gate_clock(policy, "prd", since)
    assert clock.expires_at == since.astimezone(UTC) + timedelta(hours=24)
    assert clock.warning_at == since
    assert CutoffsAt(policy, since).of("prd").warning == since  # type: ignore[union-attr]


# Zones whose clocks change at midnight (Santiago) or by half an hour (Lord Howe), and gates whose
# opening instant is given on the zone's wall clock rather than in UTC.
@settings(max_examples=200, deadline=None)
@given(
    raw=policies,
    zone=st.sampled_from(["Europe/Berlin", "America/Santiago", "Australia/Lord_Howe"]),
    now=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)
    ),
    age_minutes=st.integers(min_value=-120, max_value=9 * 24 * 60),
    local=st.booleans(),
)
def test_cutoffs_agree_with_the_gate_clock_in_other_zones(
    raw: dict[str, object], zone: str, now: datetime, age_minutes: int, local: bool
) -> None:
    tz = ZoneInfo(zone)
    policy = policy_from_config(raw, timezone=zone)
    since = now - timedelta(minutes=age_minutes, microseconds=age_minutes * 7)
    since = since.astimezone(tz) if local else since
    clock = gate_clock(policy, "prd", since)
    cut = CutoffsAt(policy, now).of("prd")
    assert cut is not None
    assert (since <= cut.reminder) == (now >= clock.reminder_at)
    assert (since <= cut.escalation) == (now >= clock.escalation_at)
    assert (since <= cut.warning) == (now >= clock.warning_at)
    assert (since <= cut.expiry) == (now >= clock.expires_at)
    assert policy.business.elapsed(since, clock.reminder_at, tz) == max(
        policy.default.approval_sla, timedelta(0)
    )
