"""Due cutoffs: one walk back from `now` per phase says, for any gate, what comparing `now` with
its `GateClock` says — across nights, weekends and the daylight-saving changes of a real zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
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


@settings(max_examples=400, deadline=None)
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
