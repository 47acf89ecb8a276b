"""SLA policy: business-time arithmetic, quiet hours and the orch.toml tables, in a real time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs.config import JobsConfig, load_scheduler_config
from bot.jobs.sla_policy import (
    BusinessHours,
    QuietHours,
    describe_age,
    gate_clock,
    parse_days,
    parse_duration,
    policy_from_config,
)

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_durations_are_read_the_way_people_write_them() -> None:
    assert parse_duration("4h") == timedelta(hours=4)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration(1.5) == timedelta(minutes=90)
    for bad in ("", "4 hours", "h", "4x", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_day_ranges_wrap_and_all_means_every_day() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days(["sat", "sun"]) == frozenset({5, 6})
    assert parse_days("all") == frozenset(range(7))
    with pytest.raises(ValueError, match=r"mon\.\.sun"):
        parse_days("someday")


def test_four_business_hours_from_a_tuesday_morning_end_that_afternoon_and_eight_next_morning() -> None:
    hours = BusinessHours()
    start = berlin(2025, 1, 14, 10, 0)
    assert hours.add(start, timedelta(hours=4), BERLIN) == berlin(2025, 1, 14, 14, 0)
    assert hours.add(start, timedelta(hours=8), BERLIN) == berlin(2025, 1, 15, 10, 0)


def test_business_time_skips_the_weekend_and_the_night() -> None:
    hours = BusinessHours()
    assert hours.add(berlin(2025, 1, 17, 15, 0), timedelta(hours=4), BERLIN) == berlin(2025, 1, 20, 11, 0)
    # Posted at night: the clock starts when the office opens.
    assert hours.add(berlin(2025, 1, 14, 23, 0), timedelta(hours=1), BERLIN) == berlin(2025, 1, 15, 10, 0)


def test_business_hours_follow_the_wall_clock_across_the_spring_dst_change() -> None:
    # Friday 15:00 CET + 4 business hours = Monday 11:00, which is CEST by then (09:00 UTC, not 10:00).
    due = BusinessHours().add(berlin(2025, 3, 28, 15, 0), timedelta(hours=4), BERLIN)
    assert due.astimezone(UTC) == datetime(2025, 3, 31, 9, 0, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31)),
    minutes=st.integers(min_value=0, max_value=60 * 40),
)
def test_elapsed_business_time_undoes_adding_it(start: datetime, minutes: int) -> None:
    hours, begin = BusinessHours(), start.replace(tzinfo=UTC)
    due = hours.add(begin, timedelta(minutes=minutes), BERLIN)
    assert hours.elapsed(begin, due, BERLIN) == timedelta(minutes=minutes)


def test_quiet_hours_span_midnight_and_end_at_their_local_time() -> None:
    quiet = QuietHours(start=20 * 60, end=8 * 60)
    assert quiet.contains(berlin(2025, 1, 14, 22, 0), BERLIN)
    assert quiet.contains(berlin(2025, 1, 15, 7, 59), BERLIN)
    assert not quiet.contains(berlin(2025, 1, 15, 8, 0), BERLIN)
    assert not quiet.contains(berlin(2025, 1, 14, 19, 59), BERLIN)
    assert quiet.ends_after(berlin(2025, 1, 14, 22, 0), BERLIN) == berlin(2025, 1, 15, 8, 0)
    assert quiet.ends_after(berlin(2025, 1, 15, 6, 0), BERLIN) == berlin(2025, 1, 15, 8, 0)
    assert quiet.ends_after(berlin(2025, 1, 15, 12, 0), BERLIN) == berlin(2025, 1, 15, 12, 0)


def test_defaults_are_four_business_hours_escalation_at_twice_and_a_five_day_ttl() -> None:
    policy = policy_from_config({}, timezone="Europe/Berlin")
    gate = gate_clock(policy, "prd", berlin(2025, 1, 14, 10, 0))
    assert gate.reminder_at == berlin(2025, 1, 14, 14, 0)
    assert gate.escalation_at == berlin(2025, 1, 15, 10, 0)
    assert gate.expires_at == berlin(2025, 1, 19, 10, 0)
    assert gate.warning_at == berlin(2025, 1, 18, 10, 0)
    assert policy.for_phase("implementation").job_runtime == timedelta(minutes=30)
    assert policy.is_quiet(berlin(2025, 1, 14, 21, 0)) and not policy.is_quiet(berlin(2025, 1, 14, 9, 0))


def test_a_phase_overrides_only_what_it_names_and_inherits_the_rest() -> None:
    policy = policy_from_config(
        {
            "approval_sla": "2h",
            "approval_ttl": "3d",
            "business_hours": "08:00-18:00",
            "business_days": "mon-sat",
            "quiet_hours": "",
            "backup_approvers": "U_LEAD, U_BOSS",
            "phases": {"implementation": {"job_runtime": "2h"}, "prd": {"approval_sla": "30m"}},
        },
        timezone="Europe/Berlin",
    )
    assert policy.for_phase("prd").approval_sla == timedelta(minutes=30)
    assert policy.for_phase("prd").approval_ttl == timedelta(days=3)
    assert policy.for_phase("implementation").job_runtime == timedelta(hours=2)
    assert policy.for_phase("task_list").approval_sla == timedelta(hours=2)
    assert policy.quiet is None and not policy.is_quiet(berlin(2025, 1, 14, 3, 0))
    assert policy.business.days == frozenset(range(6)) and policy.business.start == 8 * 60
    assert policy.backup_approvers == ("U_LEAD", "U_BOSS")


def test_unknown_or_malformed_settings_are_refused_with_their_name() -> None:
    with pytest.raises(ValueError, match="approval_slaa"):
        policy_from_config({"approval_slaa": "4h"}, timezone="UTC")
    with pytest.raises(ValueError, match="HH:MM"):
        policy_from_config({"quiet_hours": "late"}, timezone="UTC")
    with pytest.raises(ValueError, match="lease_second"):
        load_scheduler_config(timezone="UTC", raw={"jobs": {"lease_second": 3}})
    with pytest.raises(ValueError, match="before 24:00"):
        load_scheduler_config(timezone="UTC", raw={"digest": {"time": "24:00"}})


def test_the_three_tables_load_together_and_retries_back_off_to_a_cap() -> None:
    cfg = load_scheduler_config(
        timezone="Europe/Berlin",
        raw={
            "jobs": {"lease_seconds": 2, "max_attempts": 4},
            "sla": {"approval_sla": "1h"},
            "digest": {"time": "08:30", "channels": "C_DEV, C_OPS", "times": {"C_OPS": "07:00"}},
        },
    )
    assert cfg.jobs.lease_seconds == 2.0 and cfg.jobs.max_attempts == 4
    assert cfg.sla.for_phase("prd").approval_sla == timedelta(hours=1) and cfg.sla.timezone == "Europe/Berlin"
    assert cfg.digest.channels == ("C_DEV", "C_OPS") and cfg.digest.time_for("C_OPS") == "07:00"
    assert cfg.digest.all_times() == ["07:00", "08:30"]
    backoff = JobsConfig(backoff_seconds=5, backoff_cap_seconds=30).backoff
    assert [backoff(n) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]


def test_ages_read_as_days_hours_or_minutes() -> None:
    assert describe_age(timedelta(minutes=12)) == "12m"
    assert describe_age(timedelta(hours=4, minutes=5)) == "4h 5m"
    assert describe_age(timedelta(days=3, hours=2, minutes=59)) == "3d 2h"
    assert describe_age(timedelta(hours=4)) == "4h" and describe_age(timedelta(days=2, minutes=3)) == "2d"
    assert describe_age(timedelta(seconds=-5)) == "0m"
