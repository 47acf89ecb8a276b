"""The gate rules as data in, data out: every rule and every refusal, no database, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sop import gates
from bot.sop.gates import (
    Click,
    Decided,
    DecisionFacts,
    DecisionRequest,
    PhaseFacts,
    Policy,
    Posted,
    PriorDecision,
)
from bot.sop.outcomes import ArtifactFacts, Builder, Change, GoalFacts, Refusal, Refused
from bot.sop.phases import Decision, GoalState, Phase, PhaseStatus

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SHA = "a" * 64
OLD = "b" * 64


def goal(**kw: Any) -> GoalFacts:
    base = GoalFacts(
        id="G-0001",
        title="CSV export",
        requester="UREQ",
        phase=Phase.PRD.value,
        status=PhaseStatus.AWAITING_APPROVAL.value,
        state=GoalState.ACTIVE.value,
        brief="Add CSV export",
        channel_id="C1",
        thread_ts="1.0",
    )
    return replace(base, **kw)


def art(**kw: Any) -> ArtifactFacts:
    return replace(ArtifactFacts(id=7, phase=Phase.PRD.value, version=2, sha256=SHA), **kw)


def facts(**kw: Any) -> DecisionFacts:
    base = DecisionFacts(goal=goal(), current=art(), authority={"UAPP": True, "UREQ": True, "UOTHER": True})
    return replace(base, **kw)


def req(decision: Decision = Decision.APPROVE, **kw: Any) -> DecisionRequest:
    base = DecisionRequest(decision, "UAPP", Phase.PRD.value, SHA, None)
    return replace(base, **kw)


def run(f: DecisionFacts, r: DecisionRequest, policy: Policy = Policy()) -> Decided | Refusal:
    return gates.decide(f, r, now=NOW, policy=policy)


def kinds(change: Change | None) -> list[str]:
    assert change is not None
    return [e.kind for e in change.effects]


def actions(change: Change | None) -> list[str]:
    assert change is not None
    return [e.action for e in change.events]


# -- refusals of a decision, in the order they are checked ----------------------------------------

REFUSALS = [
    ("a click on a message that does not show the version", facts(shown=False), req(), Refused.WRONG_MESSAGE),
    (
        "a goal no longer active",
        facts(goal=goal(state=GoalState.CANCELLED.value)),
        req(),
        Refused.GOAL_CLOSED,
    ),
    ("someone who may not decide", facts(authority={"UAPP": False}), req(), Refused.NOT_AN_APPROVER),
    ("someone missing from the authority answer", facts(authority={}), req(), Refused.NOT_AN_APPROVER),
    ("the requester approving their own goal", facts(), req(actor="UREQ"), Refused.SELF_APPROVAL),
    (
        "the CLI when nothing awaits a decision",
        facts(goal=goal(status=PhaseStatus.DRAFTING.value)),
        req(phase=None, sha256=None),
        Refused.NOT_AWAITING,
    ),
    ("a button of an older version", facts(clicked_version=1), req(sha256=OLD), Refused.STALE),
    ("a button of another phase", facts(), req(phase=Phase.TASK_LIST.value), Refused.STALE),
    ("a phase with no artifact yet", facts(current=None), req(), Refused.STALE),
    (
        "a version whose gate is no longer open",
        facts(goal=goal(status=PhaseStatus.CHANGES_REQUESTED.value)),
        req(),
        Refused.NOT_AWAITING,
    ),
    (
        "a diff that adds a secret",
        facts(secrets=("app.py:3 — AWS key",), current=art(phase="implementation", task_id=1)),
        req(phase=Phase.PRD.value),
        Refused.SECRET_IN_DIFF,
    ),
]


@pytest.mark.parametrize(("case", "f", "r", "reason"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_a_decision_is_refused(case: str, f: DecisionFacts, r: DecisionRequest, reason: Refused) -> None:
    result = run(f, r)
    assert isinstance(result, Refusal), case
    assert result.reason is reason
    assert result.goal_id == "G-0001"


FIRST = (Refused.WRONG_MESSAGE, Refused.GOAL_CLOSED, Refused.NOT_AN_APPROVER, Refused.SELF_APPROVAL)


@pytest.mark.parametrize(("case", "f", "r", "reason"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_the_refusals_checked_first_need_only_the_goal_the_message_and_the_person(
    case: str, f: DecisionFacts, r: DecisionRequest, reason: Refused
) -> None:
    # A service checks these before reading the rest of the facts: the same answer as `decide`,
    # and None for every later refusal, whatever the rest of the facts would say.
    early = gates.refused_first(f.goal, f.shown, f.authority, r, Policy())
    if reason in FIRST:
        assert early == run(f, r), case
    else:
        assert early is None, case


def test_a_stale_refusal_names_both_versions() -> None:
    result = run(facts(clicked_version=1), req(sha256=OLD))
    assert isinstance(result, Refusal)
    assert dict(result.detail) == {"clicked_version": 1, "current_version": 2}
    other_phase = run(facts(), req(phase=Phase.TASK_LIST.value))
    assert isinstance(other_phase, Refusal)
    assert other_phase.detail["current_version"] is None


def test_the_requester_may_approve_when_configuration_allows_it() -> None:
    result = run(facts(), req(actor="UREQ"), Policy(allow_self_approval=True))
    assert isinstance(result, Decided) and result.complete


def test_a_secret_does_not_stop_a_request_for_changes() -> None:
    result = run(facts(secrets=("x",)), req(Decision.REQUEST_CHANGES, reason="remove it"))
    assert isinstance(result, Decided) and result.complete


# -- repeats are answered, not refused ---------------------------------------------------------------

REPEATS = [
    (
        "the same decision on an older version",
        facts(priors=(PriorDecision(OLD, "prd", "approve", 1),)),
        req(sha256=OLD),
        ("prd", 1, OLD, True),
    ),
    (
        "the same decision while the gate stays open",
        facts(priors=(PriorDecision(SHA, "prd", "approve", 2),)),
        req(),
        ("prd", 2, SHA, False),
    ),
    (
        "the same decision once the gate moved on",
        facts(
            goal=goal(status=PhaseStatus.DRAFTING.value), priors=(PriorDecision(SHA, "prd", "approve", 2),)
        ),
        req(),
        ("prd", 2, SHA, True),
    ),
]


@pytest.mark.parametrize(("case", "f", "r", "expected"), REPEATS, ids=[c[0] for c in REPEATS])
def test_a_repeat_is_a_duplicate(case: str, f: DecisionFacts, r: DecisionRequest, expected: tuple) -> None:
    result = run(f, r)
    assert isinstance(result, Decided), case
    assert result.duplicate and result.change is None
    assert (result.phase, result.version, result.sha256, result.complete) == expected


def test_a_prior_decision_of_another_kind_is_no_repeat() -> None:
    f = facts(priors=(PriorDecision(SHA, "prd", "reject", 2),))
    result = run(f, req())
    assert isinstance(result, Decided) and not result.duplicate


# -- N of M ------------------------------------------------------------------------------------------


def test_one_approval_of_two_keeps_the_gate_open() -> None:
    result = run(facts(), req(), Policy(approvals_required=2))
    assert isinstance(result, Decided) and not result.complete
    change = result.change
    assert change is not None and change.approval is not None
    assert change.approval.decision == "approve" and change.approval.sha256 == SHA
    assert change.goal == goal()  # the state does not move
    assert actions(change) == ["artifact.approved"]
    assert [e.key for e in change.effects] == [
        "card:G-0001:prd:0:2:approval:UAPP",
        "artifact:G-0001:prd:0:2:partial:UAPP",
    ]
    assert change.effects[1].payload == {"artifact_id": 7, "partial": True}


def test_the_second_approval_completes_the_gate() -> None:
    result = run(facts(approved_by=frozenset({"UOTHER"})), req(), Policy(approvals_required=2))
    assert isinstance(result, Decided) and result.complete and result.next_phase == "task_list"


def test_an_approval_by_someone_no_longer_an_approver_stops_counting() -> None:
    f = facts(approved_by=frozenset({"UGONE"}), authority={"UAPP": True, "UGONE": False})
    result = run(f, req(), Policy(approvals_required=2))
    assert isinstance(result, Decided) and not result.complete


# -- advance -----------------------------------------------------------------------------------------


def test_approving_the_prd_enters_the_task_list_and_publishes_a_snapshot() -> None:
    f = facts(history=PhaseFacts(last_versions={("task_list", 0): 3}))
    result = run(f, req())
    assert isinstance(result, Decided) and result.complete and result.next_phase == "task_list"
    change = result.change
    assert change is not None
    assert change.goal.phase == "task_list" and change.goal.status == "drafting"
    assert change.goal.phase_started_at == NOW
    assert [(e.action, e.phase, e.actor) for e in change.events] == [
        ("artifact.approved", "prd", None),
        ("phase.entered", "task_list", "bot"),
    ]
    assert [(e.key, e.snapshot) for e in change.effects] == [
        ("artifact:G-0001:prd:0:2:decided", False),
        ("draft:G-0001:task_list:0:4", False),
        ("card:G-0001:prd:0:2:approved", False),
        ("publish:G-0001:prd:0:2", True),
    ]


def test_approving_the_scaffold_check_applies_the_scaffold() -> None:
    f = facts(goal=goal(phase="scaffold_check"), current=art(phase="scaffold_check", version=1))
    result = run(f, req(phase="scaffold_check"))
    assert isinstance(result, Decided)
    assert "repo.apply_scaffold" in kinds(result.change)
    assert result.next_phase == "prd"


SPEC_CASES = [
    ("a trigger requires the Mini-Spec", {"prd": "We store personal data (PII)."}, None, "spec", True),
    ("no trigger skips it", {"prd": "A button."}, None, "action_plan", False),
    (
        "a person's waiver skips it despite a trigger",
        {"prd": "We store personal data (PII)."},
        {"decision": "waived", "by": "UAPP", "at": "t", "justification": "tiny"},
        "action_plan",
        False,
    ),
    (
        "a person's requirement holds without a trigger",
        {"prd": "A button."},
        {"decision": "required", "by": "UAPP", "at": "t", "justification": "risky"},
        "spec",
        True,
    ),
]


@pytest.mark.parametrize(
    ("case", "texts", "waiver", "nxt", "required"), SPEC_CASES, ids=[c[0] for c in SPEC_CASES]
)
def test_the_task_list_approval_decides_the_mini_spec(
    case: str, texts: dict, waiver: dict | None, nxt: str, required: bool
) -> None:
    f = facts(
        goal=goal(phase="task_list", spec_waiver=waiver),
        current=art(phase="task_list"),
        history=PhaseFacts(texts=texts),
    )
    result = run(f, req(phase="task_list"))
    assert isinstance(result, Decided) and result.next_phase == nxt, case
    change = result.change
    assert change is not None and change.goal.spec_required is required
    assert "spec.assessed" in actions(change)
    skipped = [e for e in change.events if e.action == "spec.skipped"]
    assert bool(skipped) is (not required)
    if skipped and waiver:
        assert skipped[0].payload["reason"] == "waived by UAPP" and skipped[0].justification == "tiny"
        assert skipped[0].phase == "spec"


def test_spec_triggers_are_read_from_the_brief_too() -> None:
    assessed = gates.assess_spec(goal(brief="Add a database migration for orders."), {})
    assert assessed.spec_triggers and assessed.spec_required


TASKS = (
    {"id": 1, "title": "a", "status": "pending", "priority": "low"},
    {"id": 2, "title": "b", "status": "pending", "priority": "high", "dependencies": [1]},
    {"id": 3, "title": "c", "status": "pending", "priority": "medium"},
)


def test_approving_the_action_plan_starts_the_first_ready_task() -> None:
    f = facts(goal=goal(phase="action_plan", tasks=TASKS), current=art(phase="action_plan"))
    result = run(f, req(phase="action_plan"))
    assert isinstance(result, Decided) and result.next_phase == "implementation"
    change = result.change
    assert change is not None
    assert [t["status"] for t in change.goal.tasks] == ["pending", "pending", "in-progress"]
    builds = [e for e in change.effects if e.kind == "build"]
    assert [(e.key, dict(e.payload)) for e in builds] == [("build:G-0001:3:1", {"task_id": 3, "version": 1})]
    publish = [e for e in change.effects if e.kind == "repo.publish_artifact"]
    assert publish and not publish[0].snapshot  # the build works on the repository as published
    assert kinds(change).index("repo.publish_artifact") < kinds(change).index("build")


def test_approving_an_action_plan_without_tasks_finishes_the_goal() -> None:
    f = facts(goal=goal(phase="action_plan"), current=art(phase="action_plan"))
    result = run(f, req(phase="action_plan"))
    assert isinstance(result, Decided) and result.next_phase == "done"
    change = result.change
    assert change is not None and change.goal.state == "done" and change.goal.status == "approved"
    assert actions(change)[-2:] == ["phase.entered", "goal.done"]
    assert {"repo.publish_state", "repo.remove_worktree", "slack.thread_note"} <= set(kinds(change))


def test_approving_a_task_merges_it_and_builds_the_next_under_a_fresh_key() -> None:
    tasks = ({"id": 1, "status": "in-progress"}, {"id": 2, "status": "pending"})
    f = facts(
        goal=goal(phase="implementation", tasks=tasks),
        current=art(phase="implementation", task_id=1),
        history=PhaseFacts(
            last_versions={("implementation", 2): 1}, build_keys=frozenset({"build:G-0001:2:2"})
        ),
    )
    result = run(f, req(phase="implementation"))
    assert isinstance(result, Decided) and result.next_phase == "implementation"
    change = result.change
    assert change is not None
    assert [t["status"] for t in change.goal.tasks] == ["done", "in-progress"]
    assert "repo.merge" in kinds(change)
    assert [e.key for e in change.effects if e.kind == "build"] == ["build:G-0001:2:2:restart-1"]


def test_approving_the_last_task_waits_for_its_merge() -> None:
    f = facts(
        goal=goal(phase="implementation", tasks=({"id": 1, "status": "in-progress"},)),
        current=art(phase="implementation", task_id=1),
    )
    result = run(f, req(phase="implementation"))
    assert isinstance(result, Decided)
    change = result.change
    assert change is not None and change.goal.status == "approved" and change.goal.state == "active"
    assert kinds(change) == ["slack.mark_decided", "repo.merge", "slack.update_card"]


def test_a_goal_without_a_channel_gets_no_card_updates() -> None:
    result = run(facts(goal=goal(channel_id=None)), req())
    assert isinstance(result, Decided)
    assert "slack.update_card" not in kinds(result.change)


def test_entering_a_phase_again_drafts_after_its_last_version() -> None:
    b = Builder(goal(phase="action_plan"))
    entered = gates.enter(
        b, Phase.SPEC, now=NOW, tag="spec-1", history=PhaseFacts(last_versions={("spec", 0): 2})
    )
    assert entered == "spec"
    assert [e.key for e in b.change().effects] == ["draft:G-0001:spec:0:3", "card:G-0001:spec-1:approved"]


def test_the_next_task_is_the_ready_one_with_the_highest_priority() -> None:
    assert gates.next_pending_task(TASKS) == TASKS[2]
    done_one = ({**TASKS[0], "status": "done"}, TASKS[1], TASKS[2])
    assert gates.next_pending_task(done_one) == TASKS[1]
    assert gates.next_pending_task(()) is None


# -- request changes, reject -------------------------------------------------------------------------


def test_requesting_changes_sends_the_document_back_to_its_drafter() -> None:
    result = run(facts(), req(Decision.REQUEST_CHANGES, reason="  shorter  "))
    assert isinstance(result, Decided) and result.complete
    change = result.change
    assert change is not None and change.goal.status == "changes_requested" and change.goal.updated_at == NOW
    assert change.approval is not None and change.approval.reason == "shorter"
    assert actions(change) == ["artifact.changes_requested"]
    assert kinds(change) == ["slack.mark_decided", "repo.publish_state", "draft", "slack.update_card"]
    draft = change.effects[2]
    assert draft.key == "draft:G-0001:prd:0:3" and draft.payload["feedback"] == "  shorter  "


def test_requesting_changes_on_a_diff_sends_it_back_to_the_builder() -> None:
    f = facts(goal=goal(phase="implementation"), current=art(phase="implementation", task_id=4))
    result = run(f, req(Decision.REQUEST_CHANGES, phase="implementation", reason="tests"))
    assert isinstance(result, Decided)
    assert [e.key for e in (result.change or Change(goal())).effects if e.kind == "build"] == [
        "build:G-0001:implementation:4:3"
    ]


def test_rejecting_closes_the_goal() -> None:
    result = run(facts(), req(Decision.REJECT, reason="not now"))
    assert isinstance(result, Decided)
    change = result.change
    assert change is not None
    assert (change.goal.state, change.goal.status, change.goal.closed_reason) == (
        "rejected",
        "rejected",
        "not now",
    )
    assert "publish:G-0001:rejected" in [e.key for e in change.effects]


# -- where a click counts ----------------------------------------------------------------------------

ORIGINS = [
    ("the artifact's own message", Click("C1", "5.0", "1.0"), [Posted("5.0")], "UAPP", True),
    ("another message in the channel", Click("C1", "6.0", "1.0"), [Posted("5.0")], "UAPP", False),
    ("the thread before the ts is stored", Click("C1", "6.0", "1.0"), [Posted(None)], "UAPP", True),
    ("another thread before the ts is stored", Click("C1", "6.0", "2.0"), [Posted(None)], "UAPP", False),
    ("the escalation in the thread", Click("C1", "9.0", "1.0"), [Posted("5.0", (("C1",),))], "UAPP", True),
    ("a reminder DM to this person", Click("D1", "9.0"), [Posted("5.0", (("UAPP",),))], "UAPP", True),
    ("a reminder DM to someone else", Click("D1", "9.0"), [Posted("5.0", (("UOTHER",),))], "UAPP", False),
    ("no version with that sha256", Click("C1", "5.0", "1.0"), [], "UAPP", False),
    ("no message reported", Click(None, None), [Posted("5.0")], "UAPP", False),
]


@pytest.mark.parametrize(("case", "click", "posted", "who", "ok"), ORIGINS, ids=[c[0] for c in ORIGINS])
def test_a_click_counts_only_where_the_version_is_shown(
    case: str, click: Click, posted: list[Posted], who: str, ok: bool
) -> None:
    assert gates.shown_on(goal(), SHA, click, posted, who) is ok, case


def test_a_click_without_a_sha256_never_counts() -> None:
    assert not gates.shown_on(goal(), None, Click("C1", "5.0", "1.0"), [Posted("5.0")], "UAPP")


# -- cancel ------------------------------------------------------------------------------------------


def test_cancel_stops_the_goal_and_its_work() -> None:
    result = gates.cancel(goal(), actor="UREQ", is_approver=False, reason=None, now=NOW)
    assert isinstance(result, Change)
    assert result.goal.state == "cancelled" and result.goal.closed_reason == "cancelled"
    assert result.cancel_jobs
    assert [(e.action, e.actor, dict(e.payload)) for e in result.events] == [
        ("goal.cancelled", None, {"reason": None})
    ]
    assert [e.key for e in result.effects] == ["card:G-0001:cancelled", "publish:G-0001:cancelled"]


CANCELS = [
    ("an approver", "UAPP", True, None),
    ("an operator at the CLI", "cli:ops", False, None),
    ("someone else", "USTRANGER", False, Refused.NOT_ALLOWED),
]


@pytest.mark.parametrize(("case", "who", "approver", "refused"), CANCELS, ids=[c[0] for c in CANCELS])
def test_who_may_cancel(case: str, who: str, approver: bool, refused: Refused | None) -> None:
    result = gates.cancel(goal(), actor=who, is_approver=approver, reason="x", now=NOW)
    if refused is None:
        assert isinstance(result, Change), case
    else:
        assert isinstance(result, Refusal) and result.reason is refused
        assert result.message == "Only the requester or an approver can cancel G-0001."


def test_a_closed_goal_cannot_be_cancelled() -> None:
    result = gates.cancel(goal(state="done"), actor="UREQ", is_approver=False, reason=None, now=NOW)
    assert isinstance(result, Refusal) and result.reason is Refused.GOAL_CLOSED


# -- expiry ------------------------------------------------------------------------------------------

GATE_OPEN = [
    ("awaiting that artifact", goal(), art(), 7, True),
    ("a newer artifact since", goal(), art(id=8), 7, False),
    ("no longer awaiting", goal(status="changes_requested"), art(), 7, False),
    ("closed", goal(state="cancelled"), art(), 7, False),
    ("no artifact", goal(), None, 7, False),
]


@pytest.mark.parametrize(("case", "g", "a", "aid", "ok"), GATE_OPEN, ids=[c[0] for c in GATE_OPEN])
def test_only_an_open_gate_expires(
    case: str, g: GoalFacts, a: ArtifactFacts | None, aid: int, ok: bool
) -> None:
    assert gates.gate_open(g, a, aid) is ok, case


def test_expiry_closes_the_gate_now_and_holds_its_messages() -> None:
    later = NOW + timedelta(hours=8)
    change = gates.expire(goal(), art(), now=NOW, age="2d", notes_not_before=later)
    assert change.goal.status == "expired" and change.goal.updated_at == NOW
    assert [(e.action, e.actor) for e in change.events] == [("approval.expired", "scheduler")]
    assert change.events[0].payload["to"] == ["UREQ"]
    assert change.level is not None and change.level.key == "sla:expired:G-0001:prd:0:v2"
    assert change.level.recipients == ("UREQ",)
    note = change.effects[1]
    assert note.kind == "slack.thread_note" and note.not_before == later
    assert "expired after 2d" in note.payload["text"]


def test_expiry_of_a_goal_started_at_the_cli_tells_nobody_by_dm() -> None:
    change = gates.expire(
        goal(requester="cli:ops", channel_id=None), art(), now=NOW, age="1h", notes_not_before=None
    )
    assert change.effects == () and change.level is not None and change.level.recipients == ()


# -- request again -----------------------------------------------------------------------------------

EXPIRED = goal(status="expired")
RE_REFUSALS = [
    ("a closed goal", goal(state="rejected", status="expired"), art(), "UREQ", False, Refused.GOAL_CLOSED),
    ("someone else", EXPIRED, art(), "USTRANGER", False, Refused.NOT_ALLOWED),
    ("a gate that has not expired", goal(), art(), "UREQ", False, Refused.NOT_EXPIRED),
    ("no artifact", EXPIRED, None, "UREQ", False, Refused.NO_ARTIFACT),
]


@pytest.mark.parametrize(
    ("case", "g", "a", "who", "approver", "reason"), RE_REFUSALS, ids=[c[0] for c in RE_REFUSALS]
)
def test_request_again_is_refused(
    case: str, g: GoalFacts, a: ArtifactFacts | None, who: str, approver: bool, reason: Refused
) -> None:
    result = gates.rerequest(g, a, actor=who, is_approver=approver)
    assert isinstance(result, Refusal) and result.reason is reason, case
    assert result.message or result.reason is Refused.GOAL_CLOSED


def test_an_expired_gate_is_requested_again_as_the_next_version() -> None:
    assert gates.rerequest(EXPIRED, art(), actor="UAPP", is_approver=True) is None
    change = gates.rerequested(EXPIRED, art(version=3), previous_version=2)
    assert [(e.action, e.payload["previous_version"]) for e in change.events] == [("approval.rerequested", 2)]
    assert change.level is not None and change.level.key == "rerequest:G-0001:prd:0:v3"


# -- ask the approvers -------------------------------------------------------------------------------


def test_asking_the_approvers_notes_it_in_the_thread() -> None:
    result = gates.ask_approvers(goal(), art(), approvers=["UA", "UB"], note=" please ", now=NOW)
    assert isinstance(result, Change)
    assert result.events[0].action == "approval.requested" and result.events[0].payload["note"] == " please "
    assert (
        result.effects[0].payload["text"] == "<@UA> <@UB>: G-0001 prd v2 is waiting for your decision. please"
    )


def test_asking_the_approvers_before_a_draft_is_refused() -> None:
    result = gates.ask_approvers(goal(status="drafting"), None, approvers=[], note="", now=NOW)
    assert isinstance(result, Refusal) and result.reason is Refused.NOT_AWAITING


# -- learned conventions -----------------------------------------------------------------------------

LEARN = [
    ("an approver adopts another's proposal", "UB", True, False, None),
    ("someone who is not an approver", "UB", False, False, Refused.NOT_AN_APPROVER),
    ("the proposer adopting their own", "UA", True, False, Refused.SELF_APPROVAL),
    ("the proposer when self-approval is allowed", "UA", True, True, None),
]


@pytest.mark.parametrize(("case", "who", "approver", "self_ok", "refused"), LEARN, ids=[c[0] for c in LEARN])
def test_adopting_learned_conventions(
    case: str, who: str, approver: bool, self_ok: bool, refused: Refused | None
) -> None:
    result = gates.adopt_learning(
        "L-1", proposed_by="UA", actor=who, is_approver=approver, allow_self_approval=self_ok
    )
    assert (result.reason if result else None) is refused, case


def test_discarding_learned_conventions() -> None:
    assert gates.discard_learning("L-1", proposed_by="UA", actor="UA", is_approver=False) is None
    refused = gates.discard_learning("L-1", proposed_by="UA", actor="UB", is_approver=False)
    assert refused is not None and refused.reason is Refused.NOT_ALLOWED


def test_only_slack_users_get_a_dm() -> None:
    assert gates.is_slack_user("U123") and gates.is_slack_user("W9")
    assert not gates.is_slack_user("cli:ops") and not gates.is_slack_user("")


# -- a person's Mini-Spec decision -------------------------------------------------------------------


def spec(g: GoalFacts, decision: str, who: str = "UAPP", **kw: Any) -> gates.SpecSet | Refusal:
    args: dict[str, Any] = {
        "decision": decision,
        "actor": who,
        "justification": "written reasons for it",
        "may_decide": True,
        "spec_approved": False,
        "decisions_so_far": 0,
        "now": NOW,
        "policy": Policy(),
        "history": PhaseFacts(),
    }
    return gates.set_spec(g, **{**args, **kw})


SPEC_REFUSALS = [
    ("a closed goal", goal(state="done"), "required", "UAPP", {}, Refused.GOAL_CLOSED),
    (
        "someone who may not decide",
        goal(),
        "required",
        "UAPP",
        {"may_decide": False},
        Refused.NOT_AN_APPROVER,
    ),
    ("the requester waiving it", goal(), "waived", "UREQ", {}, Refused.SELF_APPROVAL),
    ("after the Action Plan", goal(phase="implementation"), "waived", "UAPP", {}, Refused.TOO_LATE),
]


@pytest.mark.parametrize(
    ("case", "g", "decision", "who", "kw", "reason"), SPEC_REFUSALS, ids=[c[0] for c in SPEC_REFUSALS]
)
def test_a_mini_spec_decision_is_refused(
    case: str, g: GoalFacts, decision: str, who: str, kw: dict, reason: Refused
) -> None:
    result = spec(g, decision, who, **kw)
    assert isinstance(result, Refusal) and result.reason is reason, case


def test_the_requester_may_require_a_mini_spec() -> None:
    result = spec(goal(), "required", "UREQ")
    assert isinstance(result, gates.SpecSet) and not result.moved
    assert result.change.goal.spec_required is True
    assert result.change.goal.spec_waiver == {
        "decision": "required",
        "by": "UREQ",
        "at": NOW.isoformat(),
        "justification": "written reasons for it",
    }
    assert [e.key for e in result.change.effects] == [
        "card:G-0001:spec-1",
        "note:G-0001:spec-1",
        "publish:G-0001:spec-1",
    ]


def test_requiring_it_at_the_action_plan_goes_back_to_the_mini_spec() -> None:
    result = spec(goal(phase="action_plan"), "required", decisions_so_far=1)
    assert isinstance(result, gates.SpecSet) and result.moved
    assert result.change.goal.phase == "spec"
    assert [e.action for e in result.change.events] == ["spec.required", "phase.entered"]
    assert "publish:G-0001:spec-2" in [e.key for e in result.change.effects]


def test_requiring_it_once_the_spec_is_approved_changes_no_phase() -> None:
    result = spec(goal(phase="action_plan"), "required", spec_approved=True)
    assert isinstance(result, gates.SpecSet) and not result.moved


def test_waiving_it_while_it_is_drafted_moves_on_to_the_action_plan() -> None:
    result = spec(goal(phase="spec"), "waived")
    assert isinstance(result, gates.SpecSet) and result.moved
    assert result.change.goal.phase == "action_plan"
    assert [e.action for e in result.change.events] == ["spec.waived", "spec.skipped", "phase.entered"]
