"""Who may decide a gate. Default-deny: nobody is an approver unless configuration says so.

Authority is worked out when the decision is taken, against the configuration as it is then: the
approvers configured (users and user groups), narrowed to the ones chosen for the goal when it was
started. A cache may delay a grant, never a removal: user groups are resolved by a port (Slack's
usergroups.users.list in production) and cached briefly, but a cached answer that would let a person
decide is checked again with Slack before it counts; only a cached "no" is taken as it is. Slack's
`subteam_members_changed` and `subteam_updated` events drop a group from the cache at once.
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
    # Per repository (`[repos.<name>] approvers`): more users and user groups who may decide the
    # goals on that repository, on top of the global ones.
    repos: dict[str, tuple[frozenset[str], tuple[str, ...]]] = field(default_factory=dict)
    ttl: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _resolve(self, group: str) -> frozenset[str]:
        """The group's members as Slack says now (cached for later lookups); empty on failure."""
        if self.resolve_group is None:
            return frozenset()
        now = self.monotonic()
        members = frozenset(self.resolve_group(group))
        with self._lock:
            self._cache[group] = (now, members)
        return members

    def _cached(self, group: str) -> frozenset[str] | None:
        with self._lock:
            hit = self._cache.get(group)
        if hit and self.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def _group_members(self, group: str) -> frozenset[str]:
        """Members for listing (who to remind, what `/orch approvers` shows): the cache will do."""
        cached = self._cached(group)
        return cached if cached is not None else self._resolve(group)

    def invalidate(self, group: str | None = None) -> None:
        """Forget one group's members (or every group's): the next lookup asks Slack."""
        with self._lock:
            if group is None:
                self._cache.clear()
            else:
                self._cache.pop(group, None)

    def _scope(self, repo: str | None) -> tuple[frozenset[str], tuple[str, ...]]:
        """The users and groups who approve on `repo`: the global ones and the repository's own."""
        users, groups = self.repos.get(repo or "", (frozenset(), ()))
        return self.users | users, self.groups + tuple(g for g in groups if g not in self.groups)

    def approvers(self, extra: Iterable[str] = (), *, repo: str | None = None) -> frozenset[str]:
        users, groups = self._scope(repo)
        found = set(users) | set(extra)
        for group in groups:
            found |= self._group_members(group)
        return frozenset(found)

    def is_approver(self, user: str, extra: Iterable[str] = (), *, repo: str | None = None) -> bool:
        """Is `user` an approver now (on `repo`, when given)? A grant through a group is never taken
        from the cache alone."""
        users, groups = self._scope(repo)
        if user in users or user in set(extra):
            return True
        for group in groups:
            cached = self._cached(group)
            if cached is not None and user not in cached:
                continue  # a cached "no" may delay a grant, which is allowed
            if user in self._resolve(group):
                return True
        return False

    def is_approver_anywhere(self, user: str) -> bool:
        """Is `user` an approver globally or on any repository? Someone who is not may decide no
        goal, which a listener can tell before reading the goal."""
        return any(self.is_approver(user, repo=r) for r in (None, *self.repos))

    def may_decide(self, user: str, chosen: Iterable[str] = (), *, repo: str | None = None) -> bool:
        """May `user` decide a goal (on `repo`) whose starter chose `chosen` as its approvers (none:
        any approver)?

        Both must hold at the moment of the decision: chosen for the goal, and an approver now.
        """
        picked = [c for c in chosen if c]
        if picked and user not in picked:
            return False
        return self.is_approver(user, repo=repo)
