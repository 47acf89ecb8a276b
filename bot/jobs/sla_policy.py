"""SLA policy: durations per phase, business hours and quiet hours, and the time arithmetic on them.

Pure: no clock, no I/O. All datetimes are timezone-aware; local rules (09:00–17:00, quiet from
20:00) are applied in the configured zone, so a daylight-saving change moves them with the wall
clock as people expect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
MAX_DAYS_SCANNED = 3700  # ten years: a policy with no business hours at all must not loop forever


def parse_duration(value: Any) -> timedelta:
    """`"4h"`, `"1h30m"`, `"2d"`, `"90s"`, or a number of hours."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return timedelta(hours=float(value))
    text = str(value).strip().lower().replace(" ", "")
    if not text or _DURATION.sub("", text):
        raise ValueError(f"not a duration: {value!r} (write e.g. 4h, 30m, 1h30m, 2d)")
    unit = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
    return timedelta(seconds=sum(float(n) * unit[u] for n, u in _DURATION.findall(text)))


def parse_minute_of_day(value: str) -> int:
    """`"09:00"` → 540; `"24:00"` is allowed as the end of a day."""
    found = _CLOCK.match(str(value).strip())
    if not found:
        raise ValueError(f"not a time of day: {value!r} (write HH:MM)")
    hours, minutes = int(found.group(1)), int(found.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"not a time of day: {value!r}")
    return hours * 60 + minutes


def parse_window(value: str) -> tuple[int, int]:
    """`"09:00-17:00"` → (540, 1020)."""
    start, sep, end = str(value).partition("-")
    if not sep:
        raise ValueError(f"not a time window: {value!r} (write HH:MM-HH:MM)")
    return parse_minute_of_day(start), parse_minute_of_day(end)


def parse_days(value: Any) -> frozenset[int]:
    """`"mon-fri"`, `"mon,wed,fri"`, `"all"` or a list of day names → weekday numbers (Monday = 0)."""
    items = value if isinstance(value, list | tuple) else str(value).lower().replace(" ", "").split(",")
    days: set[int] = set()
    for item in items:
        item = str(item).lower()
        if item in ("all", "*", "every"):
            return frozenset(range(7))
        first, sep, last = item.partition("-")
        if first not in DAY_NAMES or (sep and last not in DAY_NAMES):
            raise ValueError(f"not a day or day range: {item!r} (use mon..sun)")
        a, b = DAY_NAMES.index(first), DAY_NAMES.index(last) if sep else DAY_NAMES.index(first)
        span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
        days.update(span)
    return frozenset(days)


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The instant of `minute` (0..1440) on local `day`; a wall time skipped by DST lands after it."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    local = naive.replace(tzinfo=tz)
    # Round-trip through UTC: a non-existent local time (spring forward) normalises forward.
    return local.astimezone(ZoneInfo("UTC")).astimezone(tz)


def _utc(when: datetime) -> datetime:
    """`when` as a UTC instant.

    Python adds to and subtracts datetimes that share one tzinfo on their wall clock: in a zone,
    Sunday 00:00 + 3 h is 03:00 even on a day that springs forward at 02:00 (only 2 h later), and
    Monday 00:00 - Sunday 00:00 is 24 h on a day of 23 or 25. Business time is elapsed time, so
    every sum and difference is taken on UTC instants; the zone only places the windows.
    """
    return when.astimezone(UTC)


@dataclass(frozen=True)
class BusinessHours:
    start: int = 9 * 60
    end: int = 17 * 60
    days: frozenset[int] = frozenset(range(5))

    def windows(self, first: date, tz: ZoneInfo) -> Any:
        """Business windows as (start, end) UTC instants, day by day from local date `first`."""
        for offset in range(MAX_DAYS_SCANNED):
            day = first + timedelta(days=offset)
            if day.weekday() in self.days and self.end > self.start:
                yield _utc(local_instant(day, self.start, tz)), _utc(local_instant(day, self.end, tz))

    def add(self, start: datetime, amount: timedelta, tz: ZoneInfo) -> datetime:
        """The instant when `amount` of business time has passed since `start` (in `start`'s zone)."""
        left = amount
        if left <= timedelta(0):
            return start
        since = _utc(start)
        for open_at, close_at in self.windows(start.astimezone(tz).date(), tz):
            if close_at <= since:
                continue
            begin = max(open_at, since)
            if begin + left <= close_at:
                return (begin + left).astimezone(start.tzinfo)
            left -= close_at - begin
        raise ValueError("the business hours leave no time at all (check business_hours and business_days)")

    def latest_start(self, end: datetime, amount: timedelta, tz: ZoneInfo) -> datetime | None:
        """The latest `start` for which `amount` of business time has passed by `end` (in `end`'s zone).

        `add(start, amount) <= end` holds exactly when `start <= latest_start(end, amount)`, so one
        walk back from `end` answers "is it due?" for any number of starts. None when the business
        hours leave no time within the days scanned (`add` then says why).
        """
        left = amount
        if left <= timedelta(0):
            return end
        until = _utc(end)
        last = end.astimezone(tz).date()
        for offset in range(MAX_DAYS_SCANNED):
            day = last - timedelta(days=offset)
            if day.weekday() not in self.days or self.end <= self.start:
                continue
            open_at = _utc(local_instant(day, self.start, tz))
            if open_at >= until:
                continue
            finish = min(_utc(local_instant(day, self.end, tz)), until)
            if finish - open_at >= left:
                return (finish - left).astimezone(end.tzinfo)
            left -= finish - open_at
        return None

    def elapsed(self, start: datetime, end: datetime, tz: ZoneInfo) -> timedelta:
        """Business time between two instants."""
        total = timedelta(0)
        since, until = _utc(start), _utc(end)
        if until <= since:
            return total
        for open_at, close_at in self.windows(start.astimezone(tz).date(), tz):
            if open_at >= until:
                break
            begin, finish = max(open_at, since), min(close_at, until)
            if finish > begin:
                total += finish - begin
        return total


@dataclass(frozen=True)
class QuietHours:
    """Local hours when nobody is pinged; `start > end` spans midnight (20:00–08:00)."""

    start: int = 20 * 60
    end: int = 8 * 60

    def contains(self, when: datetime, tz: ZoneInfo) -> bool:
        local = when.astimezone(tz)
        minute = local.hour * 60 + local.minute
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def ends_after(self, when: datetime, tz: ZoneInfo) -> datetime:
        """The first instant at or after `when` that is outside quiet hours."""
        if not self.contains(when, tz):
            return when
        day = when.astimezone(tz).date()
        for offset in range(3):
            end = local_instant(day + timedelta(days=offset), self.end, tz)
            if end > when:
                return end
        return when  # unreachable for a well-formed window


@dataclass(frozen=True)
class PhasePolicy:
    approval_sla: timedelta = timedelta(hours=4)  # business time
    escalation_factor: float = 2.0  # escalate at this multiple of the SLA (business time)
    approval_ttl: timedelta = timedelta(days=5)  # calendar time until the gate expires
    expiry_warning: timedelta = timedelta(hours=24)  # warn the requester this long before expiry
    job_runtime: timedelta = timedelta(minutes=30)  # an agent job running longer is reported


_PHASE_KEYS: dict[str, Callable[[Any], Any]] = {
    "approval_sla": parse_duration,
    "approval_ttl": parse_duration,
    "expiry_warning": parse_duration,
    "job_runtime": parse_duration,
    "escalation_factor": float,
}


@dataclass(frozen=True)
class SlaPolicy:
    timezone: str = "UTC"
    default: PhasePolicy = field(default_factory=PhasePolicy)
    phases: Mapping[str, PhasePolicy] = field(default_factory=dict)
    business: BusinessHours = field(default_factory=BusinessHours)
    quiet: QuietHours | None = field(default_factory=QuietHours)
    backup_approvers: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def for_phase(self, phase: str) -> PhasePolicy:
        return self.phases.get(phase, self.default)

    def is_quiet(self, when: datetime) -> bool:
        return self.quiet is not None and self.quiet.contains(when, self.tz)

    def quiet_until(self, when: datetime) -> datetime:
        return when if self.quiet is None else self.quiet.ends_after(when, self.tz)


@dataclass(frozen=True)
class GateClock:
    """When each level of one gate falls due (all aware instants)."""

    since: datetime
    reminder_at: datetime
    escalation_at: datetime
    warning_at: datetime
    expires_at: datetime


def gate_clock(policy: SlaPolicy, phase: str, since: datetime) -> GateClock:
    rules = policy.for_phase(phase)
    tz = policy.tz
    # TTL and warning are calendar time, taken on the instant (not on a zone's wall clock) as
    # `due_cutoffs` does; the results are given back in `since`'s zone.
    expires = _utc(since) + rules.approval_ttl
    warning = max(_utc(since), expires - rules.expiry_warning)
    return GateClock(
        since=since,
        reminder_at=policy.business.add(since, rules.approval_sla, tz),
        escalation_at=policy.business.add(since, rules.approval_sla * rules.escalation_factor, tz),
        warning_at=warning.astimezone(since.tzinfo),
        expires_at=expires.astimezone(since.tzinfo),
    )


@dataclass(frozen=True)
class DueCutoffs:
    """At one instant, for one phase: a gate opened at `since` has a level due exactly when
    `since <= cutoff` — the same answer as comparing `now` with its `GateClock`, without computing one."""

    reminder: datetime
    escalation: datetime
    warning: datetime
    expiry: datetime

    @property
    def latest(self) -> datetime:
        """No level of a gate opened after this is due."""
        return max(self.reminder, self.escalation, self.warning, self.expiry)


def due_cutoffs(policy: SlaPolicy, phase: str, now: datetime) -> DueCutoffs | None:
    """The cutoffs of `phase` at `now`; None when the business hours leave no time (use `gate_clock`)."""
    rules = policy.for_phase(phase)
    tz = policy.tz
    now = now.astimezone(UTC)  # calendar arithmetic on instants, not on some zone's wall clock
    reminder = policy.business.latest_start(now, rules.approval_sla, tz)
    escalation = policy.business.latest_start(now, rules.approval_sla * rules.escalation_factor, tz)
    if reminder is None or escalation is None:
        return None
    # warning_at = max(since, since + ttl - warning) and expires_at = since + ttl, on UTC instants.
    return DueCutoffs(
        reminder=reminder,
        escalation=escalation,
        warning=min(now, now - (rules.approval_ttl - rules.expiry_warning)),
        expiry=now - rules.approval_ttl,
    )


class CutoffsAt:
    """The due cutoffs of each phase at `now`, each computed once (business time is costly)."""

    def __init__(self, policy: SlaPolicy, now: datetime) -> None:
        self.policy, self.now = policy, now
        self._by_phase: dict[str, DueCutoffs | None] = {}

    def of(self, phase: str) -> DueCutoffs | None:
        if phase not in self._by_phase:
            self._by_phase[phase] = due_cutoffs(self.policy, phase, self.now)
        return self._by_phase[phase]

    def latest(self) -> datetime | None:
        """No gate opened after this has a level due, whatever its phase; None: any gate may."""
        found = [self.of(phase) for phase in (*self.policy.phases, "")]
        if any(c is None for c in found):
            return None
        return max(c.latest for c in found if c is not None)

    def reminder_due(self, phase: str, since: datetime) -> bool:
        """`now >= gate_clock(policy, phase, since).reminder_at`."""
        cut = self.of(phase)
        if cut is None:
            return self.now >= gate_clock(self.policy, phase, since).reminder_at
        return since <= cut.reminder


def _phase_policy(raw: Mapping[str, Any], base: PhasePolicy) -> PhasePolicy:
    unknown = set(raw) - set(_PHASE_KEYS)
    if unknown:
        raise ValueError(f"unknown SLA settings {sorted(unknown)} (known: {sorted(_PHASE_KEYS)})")
    changes = {name: _PHASE_KEYS[name](value) for name, value in raw.items()}
    return replace(base, **changes)


def policy_from_config(
    raw: Mapping[str, Any] | None, *, timezone: str, approval_sla: timedelta | None = None
) -> SlaPolicy:
    """Build the policy from the `[sla]` table of orch.toml; everything has a default.

    [sla]
    approval_sla = "4h"            # business time
    approval_ttl = "5d"
    expiry_warning = "24h"
    job_runtime = "30m"
    business_hours = "09:00-17:00"
    business_days = "mon-fri"
    quiet_hours = "20:00-08:00"    # or "" for none
    backup_approvers = ["U0LEAD"]
    [sla.phases.implementation]
    job_runtime = "2h"
    """
    raw = dict(raw or {})
    phases_raw = raw.pop("phases", {}) or {}
    enabled = bool(raw.pop("enabled", True))
    backups = raw.pop("backup_approvers", []) or []
    if isinstance(backups, str):
        backups = [b.strip() for b in backups.split(",") if b.strip()]
    hours = raw.pop("business_hours", None)
    days = raw.pop("business_days", None)
    quiet_raw = raw.pop("quiet_hours", "20:00-08:00")
    business = BusinessHours()
    if hours is not None:
        start, end = parse_window(hours)
        business = replace(business, start=start, end=end)
    if days is not None:
        business = replace(business, days=parse_days(days))
    quiet = None
    if quiet_raw:
        qs, qe = parse_window(quiet_raw)
        quiet = QuietHours(start=qs, end=qe)
    # `approval_sla` is the deployment-wide default (ORCH_APPROVAL_SLA_HOURS); [sla] overrides it.
    base = PhasePolicy() if approval_sla is None else PhasePolicy(approval_sla=approval_sla)
    default = _phase_policy(raw, base)
    phases = {str(name): _phase_policy(values or {}, default) for name, values in dict(phases_raw).items()}
    ZoneInfo(timezone)  # fail early on an unknown zone
    return SlaPolicy(
        timezone=timezone,
        default=default,
        phases=phases,
        business=business,
        quiet=quiet,
        backup_approvers=tuple(str(b) for b in backups),
        enabled=enabled,
    )


def describe_age(delta: timedelta) -> str:
    """`3d 2h`, `4h 5m`, `4h`, `12m` — how long something has waited, for people."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"
