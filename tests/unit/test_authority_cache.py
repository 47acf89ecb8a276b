"""The approver group cache may delay a grant, never a removal."""

from __future__ import annotations

from bot.services.authority import ApproverDirectory


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def directory(members: dict[str, list[str]], clock: Clock) -> tuple[ApproverDirectory, list[str]]:
    asked: list[str] = []

    def resolve(group: str) -> list[str]:  # the port Slack's usergroups.users.list stands behind
        asked.append(group)
        return list(members.get(group, []))

    return ApproverDirectory(groups=("S1",), resolve_group=resolve, ttl=60, monotonic=clock), asked


def test_a_member_removed_from_a_group_is_refused_at_once_despite_the_cache() -> None:
    members = {"S1": ["U1", "U2"]}
    found, _ = directory(members, Clock())
    assert found.is_approver("U1") and found.approvers() == {"U1", "U2"}
    members["S1"] = ["U2"]
    assert not found.is_approver("U1")  # within the cache's minute


def test_a_cached_no_may_wait_for_the_ttl_or_an_invalidation() -> None:
    members = {"S1": ["U2"]}
    clock = Clock()
    found, asked = directory(members, clock)
    assert not found.is_approver("U3")
    members["S1"] = ["U2", "U3"]
    assert not found.is_approver("U3") and asked == ["S1"]  # the cached "no" stands, without a call
    found.invalidate("S1")
    assert found.is_approver("U3")
    members["S1"] = ["U2"]
    found.invalidate()
    clock.now = 61
    assert not found.is_approver("U3")


def test_the_goal_s_chosen_approvers_narrow_who_may_decide() -> None:
    found = ApproverDirectory(users=frozenset({"U1", "U2"}))
    assert found.may_decide("U1") and found.may_decide("U1", ["U1"])
    assert not found.may_decide("U2", ["U1"])
    assert not ApproverDirectory(users=frozenset({"U2"})).may_decide("U1", ["U1"])  # chosen, since removed
