"""The scheduler's settings: `[jobs]`, `[sla]` and `[digest]` tables of orch.toml, all optional.

`Settings` (bot/config.py) reads them with the rest of the file (`ORCH_CONFIG`, default
`./orch.toml`) and keeps them as `scheduler_tables`; they are parsed and checked here when the
container is built.

    [jobs]
    heartbeat_seconds = 5      # how often a worker marks its running jobs alive
    lease_seconds = 30         # a running job whose heartbeat is older is re-queued
    max_attempts = 3           # runs of one job before it is marked failed
    backoff_seconds = 5        # first retry delay; doubles per attempt, capped by backoff_cap_seconds
    poll_seconds = 2           # workers look for jobs enqueued by other processes this often
    leader_poll_seconds = 5    # followers try to take over the scheduler this often
    sweep_seconds = 60         # the SLA sweep's period

    [digest]
    time = "09:00"             # local time in ORCH_TIMEZONE
    channels = ["C0123"]       # default: every channel that has goals
    [digest.times]
    C0456 = "08:30"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any

from bot.jobs.sla_policy import SlaPolicy, parse_minute_of_day, policy_from_config


@dataclass(frozen=True)
class JobsConfig:
    heartbeat_seconds: float = 5.0
    lease_seconds: float = 30.0
    max_attempts: int = 3
    backoff_seconds: float = 5.0
    backoff_cap_seconds: float = 300.0
    poll_seconds: float = 2.0
    leader_poll_seconds: float = 5.0
    sweep_seconds: float = 60.0
    misfire_grace_seconds: int = 300

    def backoff(self, attempts: int) -> float:
        """Delay before the next run after `attempts` runs: base, 2×base, 4×base … capped."""
        return min(self.backoff_cap_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class DigestConfig:
    time: str = "09:00"
    channels: tuple[str, ...] = ()
    times: Mapping[str, str] = field(default_factory=dict)
    catch_up_hours: float = 6.0  # a digest missed while down is still posted this long after its time
    enabled: bool = True

    def time_for(self, channel: str) -> str:
        return self.times.get(channel, self.time)

    def all_times(self) -> list[str]:
        return sorted({self.time, *self.times.values()})


@dataclass(frozen=True)
class SchedulerConfig:
    jobs: JobsConfig
    sla: SlaPolicy
    digest: DigestConfig


def _jobs(raw: Mapping[str, Any]) -> JobsConfig:
    known = {f.name: f.type for f in fields(JobsConfig)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ValueError(f"unknown [jobs] settings {sorted(unknown)} (known: {sorted(known)})")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = int(value) if name in ("max_attempts", "misfire_grace_seconds") else float(value)
        if values[name] <= 0:
            raise ValueError(f"[jobs] {name} must be positive")
    return JobsConfig(**values)


def _digest(raw: Mapping[str, Any]) -> DigestConfig:
    channels = raw.get("channels", [])
    if isinstance(channels, str):
        channels = [c.strip() for c in channels.split(",") if c.strip()]
    times = {str(k): str(v) for k, v in dict(raw.get("times", {})).items()}
    for value in [raw.get("time", "09:00"), *times.values()]:
        if parse_minute_of_day(str(value)) >= 24 * 60:
            raise ValueError(f"[digest] time {value!r} must be before 24:00")
    return DigestConfig(
        time=str(raw.get("time", "09:00")),
        channels=tuple(str(c) for c in channels),
        times=times,
        catch_up_hours=float(raw.get("catch_up_hours", 6.0)),
        enabled=bool(raw.get("enabled", True)),
    )


def load_scheduler_config(
    *, timezone: str, raw: Mapping[str, Any], approval_sla_hours: float | None = None
) -> SchedulerConfig:
    """Parse the three tables (`Settings.scheduler_tables`); ValueError names what is wrong."""
    data = raw
    return SchedulerConfig(
        jobs=_jobs(dict(data.get("jobs", {}))),
        sla=policy_from_config(
            dict(data.get("sla", {})),
            timezone=timezone,
            approval_sla=timedelta(hours=approval_sla_hours) if approval_sla_hours else None,
        ),
        digest=_digest(dict(data.get("digest", {}))),
    )
