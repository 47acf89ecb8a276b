"""Who runs the scheduler, as `orch_leader` shows it (the lock itself is held elsewhere)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage.jobs_models import LeaderLease


class Leases:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, *, name: str, holder: str, pid: int, host: str, elected: bool, now: datetime) -> None:
        """Note the holder's heartbeat; when `elected`, it takes the lease over from whoever held it."""
        row = self.session.get(LeaderLease, name, with_for_update=True)
        if row is None:
            row = LeaderLease(name=name, holder=holder, pid=pid, host=host, acquired_at=now, heartbeat_at=now)
        if elected:
            row.holder, row.pid, row.host, row.acquired_at = holder, pid, host, now
        row.heartbeat_at = now
        self.session.add(row)

    def tick(self, *, name: str, now: datetime) -> None:
        """Note that the holder's scheduler ran a job."""
        row = self.session.get(LeaderLease, name)
        if row is not None:
            row.last_tick_at = now
            self.session.add(row)
