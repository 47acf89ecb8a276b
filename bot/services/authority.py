"""Who may decide a gate. Default-deny: nobody is an approver unless configuration says so.

User groups are resolved by a port (Slack's usergroups.users.list in production) and cached
briefly, so a group change takes effect within `ttl` seconds without a call per click.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

GroupResolver = Callable[[str], Iterable[str]]


@dataclass
class ApproverDirectory:
    users: frozenset[str] = frozenset()
    groups: tuple[str, ...] = ()
    resolve_group: GroupResolver | None = None
    ttl: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _group_members(self, group: str) -> frozenset[str]:
        if self.resolve_group is None:
            return frozenset()
        now = self.monotonic()
        with self._lock:
            hit = self._cache.get(group)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        members = frozenset(self.resolve_group(group))
        with self._lock:
            self._cache[group] = (now, members)
        return members

    def approvers(self, extra: Iterable[str] = ()) -> frozenset[str]:
        found = set(self.users) | set(extra)
        for group in self.groups:
            found |= self._group_members(group)
        return frozenset(found)

    def is_approver(self, user: str, extra: Iterable[str] = ()) -> bool:
        return user in self.approvers(extra)
