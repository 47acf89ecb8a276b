"""A goal walks through every phase from the CLI; after each step the target repo tells the truth.

Each step checks `tasks/<goal>/…`, the `docs/` mirrors (section count and append-only prefix),
`tasks/index.json` (schema-valid), `tasks/events.jsonl` and the git log with its trailers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.sop.phases import CANONICAL_FILES, Phase
from storage.audit import AuditEntry
from storage.models import Artifact
from tests.support.sop_cli import OrchCli, RepoWatch, Snapshot, setup_env

PLAIN_BRIEF = "Add CSV export of invoices. Finance wants a download button on the invoice list."
RISKY_BRIEF = (
    "Add a database migration that adds a paid_at column to the invoices table. "
    "Only users with the auth role finance may see paid invoices."
)


@pytest.fixture
def orch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path) -> OrchCli:
    setup_env(monkeypatch, tmp_path, target_repo)
    return OrchCli()


@pytest.fixture
def watch(target_repo: Path) -> RepoWatch:
    return RepoWatch(target_repo)


def files(repo: Path, goal_id: str) -> set[str]:
    folder = repo / "tasks" / goal_id
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def counts(snap: Snapshot) -> dict[str, int]:
    return {rel.removeprefix("docs/"): len(found) for rel, found in snap.sections.items() if found}


def approved_content(orch: OrchCli, goal_id: str, phase: str) -> str:
    with Session(orch.container().engine) as session:
        rows = session.exec(
            select(Artifact).where(Artifact.goal_id == goal_id, Artifact.phase == phase)
        ).all()
    return max(rows, key=lambda a: a.version).content


def audit_entries(orch: OrchCli, goal_id: str, action: str) -> list[AuditEntry]:
    with Session(orch.container().engine) as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.goal_id == goal_id, AuditEntry.action == action)
            ).all()
        )


def test_a_goal_without_spec_triggers_walks_every_phase_and_skips_the_spec_on_record(
    orch: OrchCli, watch: RepoWatch, target_repo: Path
) -> None:
    out = orch("goal", "start", PLAIN_BRIEF, "--as", "U_REQ")
    assert out.stdout.startswith(
        "G-0001 started: Add CSV export of invoices (scaffold_check, awaiting approval)"
    )
    snap = watch.check()
    goal = snap.goal("G-0001")
    assert (goal.phase, goal.status, goal.state, goal.requester) == (
        "scaffold_check",
        "awaiting_approval",
        "active",
        "U_REQ",
    )
    assert files(target_repo, "G-0001") == set() and counts(snap) == {}
    assert snap.actions("G-0001")[0] == "goal.started"
    assert snap.has_in_order("G-0001", "goal.started", "artifact.drafted")
    assert snap.log[0].subject == "orch(G-0001): start goal — Add CSV export of invoices"
    assert snap.log[0].trailers["Goal-Id"] == "G-0001"

    orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    snap = watch.check()
    assert snap.goal("G-0001").phase == "prd"
    assert files(target_repo, "G-0001") == {"scaffold-check.md"}
    assert (target_repo / "docs").is_dir() and counts(snap) == {}
    assert snap.subjects()[:2] == [
        "orch(G-0001): approve Scaffold Check v1 — Add CSV export of invoices",
        "orch: scaffold tasks/ and docs/",
    ]
    assert snap.log[0].trailers | {"Orch-Effect": "", "Audit-Head": ""} == {
        "Goal-Id": "G-0001",
        "Phase": "scaffold_check",
        "Approved-By": "U_LEAD",
        "Orch-Effect": "",
        "Audit-Head": "",  # every commit carries the audit head; its value is checked in test_audit_anchors
    }

    expected = {
        "prd": ("PRD", "PRD.md"),
        "task_list": ("Task List", "TASKS.md"),
        "action_plan": ("Action Plan", "ACTION_PLAN.md"),
    }
    mirrors: dict[str, int] = {}
    for phase, (label, mirror) in expected.items():
        approver = "U_QA" if phase == "task_list" else "U_LEAD"
        out = orch("goal", "approve", "G-0001", "--as", approver)
        assert f"approved {phase} v1" in out.stdout
        snap = watch.check()
        mirrors[mirror] = 1
        assert counts(snap) == mirrors
        assert snap.sections[f"docs/{mirror}"] == [("G-0001", phase, 1)]
        canonical = target_repo / "tasks" / "G-0001" / CANONICAL_FILES[Phase(phase)]
        assert canonical.read_text(encoding="utf-8") == approved_content(orch, "G-0001", phase)
        art = next(a for a in snap.goal("G-0001").artifacts if a.phase == phase)
        assert (art.version, art.reviewed_by, art.mirror_path) == (1, [approver], f"docs/{mirror}")
        assert art.approved_sha256 == art.sha256
        assert snap.log[0].subject == f"orch(G-0001): approve {label} v1 — Add CSV export of invoices"
        assert snap.log[0].trailers["Phase"] == phase and snap.log[0].trailers["Approved-By"] == approver
        if phase == "task_list":
            goal = snap.goal("G-0001")
            assert (goal.phase, goal.spec_required, goal.spec_triggers, goal.spec_waiver) == (
                "action_plan",
                False,
                [],
                None,
            )
            assert goal.tasks and all(t.status == "pending" for t in goal.tasks)
            assert "spec.skipped" in snap.actions("G-0001")
            [skip] = audit_entries(orch, "G-0001", "spec.skipped")
            assert skip.payload_dict() == {"reason": "no trigger found"}
    assert "spec.md" not in files(target_repo, "G-0001")
    assert "docs/TECH_SPEC.md" not in watch.seen or not snap.sections["docs/TECH_SPEC.md"]

    goal = snap.goal("G-0001")
    assert goal.phase == "implementation"
    merged = 0
    while goal.state == "active":
        orch("goal", "approve", "G-0001", "--as", "U_LEAD")
        merged += 1
        snap = watch.check()
        goal = snap.goal("G-0001")
        assert snap.log[0].trailers.get("Goal-Id") == "G-0001"
        assert merged <= len(goal.tasks)
    assert merged == len(goal.tasks) and all(t.status == "done" for t in goal.tasks)
    assert (goal.phase, goal.status, goal.state) == ("done", "approved", "done")
    assert snap.subjects()[0] == "orch(G-0001): goal done — Add CSV export of invoices"
    merges = [c for c in snap.log if c.subject.startswith("orch(G-0001): merge task")]
    assert sorted(c.trailers["Task-Id"] for c in merges) == [str(t.id) for t in goal.tasks]
    assert all(c.trailers["Phase"] == "implementation" for c in merges)
    assert snap.has_in_order("G-0001", "phase.entered", "goal.done")
    # One publish commit per approved document, no more.
    approvals = [s for s in snap.subjects() if " approve " in s]
    assert len(approvals) == 4 == len(set(approvals))
    assert files(target_repo, "G-0001") == {"scaffold-check.md", "prd.md", "tasks.md", "action-plan.md"}
    assert orch("spec-guard", "--repo", str(target_repo)).stdout.startswith("spec-guard: 1 goals")
    assert "chain intact" in orch("audit", "verify").stdout


def test_a_triggered_goal_must_have_its_spec_approved_before_the_action_plan(
    orch: OrchCli, watch: RepoWatch, target_repo: Path
) -> None:
    from bot.services.errors import StaleArtifact
    from bot.services.unit import Actor

    orch("goal", "start", PLAIN_BRIEF, "--as", "U_REQ")  # G-0001 shares the mirrors with G-0002
    for _ in range(3):
        orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    before = watch.check()
    assert counts(before) == {"PRD.md": 1, "TASKS.md": 1}

    orch("goal", "start", RISKY_BRIEF, "--as", "U_REQ")
    for phase in ("scaffold_check", "prd"):
        assert f"approved {phase} v1" in orch("goal", "approve", "G-0002", "--as", "U_QA").stdout
    out = orch("goal", "approve", "G-0002", "--as", "U_QA")
    assert "approved task_list v1; now spec (awaiting approval)" in out.stdout
    snap = watch.check()
    goal = snap.goal("G-0002")
    # The index was committed with the Task List approval, before the spec was drafted.
    assert (goal.phase, goal.status, goal.spec_required) == ("spec", "drafting", True)
    assert {"migration", "security"} <= set(goal.spec_triggers)
    assert "spec.skipped" not in snap.actions("G-0002") and "spec.assessed" in snap.actions("G-0002")
    [assessed] = audit_entries(orch, "G-0002", "spec.assessed")
    assert assessed.payload_dict()["required"] is True
    # The spec is drafted and waits for a decision; nothing of it or of the action plan is published.
    assert files(target_repo, "G-0002") == {"scaffold-check.md", "prd.md", "tasks.md"}
    assert [a.phase for a in goal.artifacts] == ["scaffold_check", "prd", "task_list"]
    shown = orch("goal", "show", "G-0002").stdout
    assert "spec v1" in shown and "--- current artifact: spec v1 ---" in shown
    assert counts(snap) == {"PRD.md": 2, "TASKS.md": 2}

    # Blocked: the action plan cannot be decided, nor can implementation start, while the spec waits.
    c = orch.container()
    with pytest.raises(StaleArtifact):
        c.goals.decide(
            goal_id="G-0002", phase="action_plan", sha256=None, decision="approve", actor=Actor("U_QA")
        )
    orch("goal", "approve", "G-0002", "--as", "U_NOBODY", code=1)
    assert watch.check().goal("G-0002").phase == "spec"

    out = orch("goal", "approve", "G-0002", "--as", "U_LEAD")
    assert "approved spec v1; now action_plan" in out.stdout
    snap = watch.check()
    assert counts(snap) == {"PRD.md": 2, "TASKS.md": 2, "TECH_SPEC.md": 1}
    assert snap.sections["docs/TECH_SPEC.md"] == [("G-0002", "spec", 1)]
    assert (target_repo / "tasks/G-0002/spec.md").read_text(encoding="utf-8") == approved_content(
        orch, "G-0002", "spec"
    )
    assert snap.log[0].trailers | {"Orch-Effect": "", "Audit-Head": ""} == {
        "Goal-Id": "G-0002",
        "Phase": "spec",
        "Approved-By": "U_LEAD",
        "Orch-Effect": "",
        "Audit-Head": "",  # every commit carries the audit head; its value is checked in test_audit_anchors
    }
    assert snap.subjects()[0].startswith("orch(G-0002): approve Mini-Spec v1 — ")

    orch("goal", "approve", "G-0002", "--as", "U_LEAD")
    snap = watch.check()
    assert snap.goal("G-0002").phase == "implementation"
    assert counts(snap) == {"PRD.md": 2, "TASKS.md": 2, "TECH_SPEC.md": 1, "ACTION_PLAN.md": 1}
    assert files(target_repo, "G-0002") == {
        "scaffold-check.md",
        "prd.md",
        "tasks.md",
        "spec.md",
        "action-plan.md",
    }
    # G-0001's sections are still first and untouched (RepoWatch checked the byte prefix).
    assert [s[0] for s in snap.sections["docs/PRD.md"]] == ["G-0001", "G-0002"]
    assert "spec-guard: 2 goals" in orch("spec-guard", "--repo", str(target_repo)).stdout


def test_request_changes_makes_a_new_version_and_the_old_one_cannot_be_approved(
    orch: OrchCli, watch: RepoWatch, target_repo: Path
) -> None:
    from bot.services.errors import StaleArtifact
    from bot.services.unit import Actor

    orch("goal", "start", PLAIN_BRIEF, "--as", "U_REQ")
    orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    c = orch.container()
    feedback = "Also cover credit notes, and keep the CSV header row stable across releases."
    v1_text = approved_content(orch, "G-0001", "prd")
    out = orch("goal", "request-changes", "G-0001", "--as", "U_QA", "--feedback", feedback)
    assert "changes requested on prd v1; now prd (awaiting approval)" in out.stdout
    snap = watch.check()
    goal = snap.goal("G-0001")
    # The decision is on record in the repo (committed before the redraft); v1 is not approved.
    assert (goal.phase, goal.status) == ("prd", "changes_requested")
    [prd] = [a for a in goal.artifacts if a.phase == "prd"]
    assert (prd.version, prd.approved_sha256, prd.reviewed_by) == (1, None, ["U_QA"])
    assert [(a.decision, a.artifact_version, a.reason) for a in goal.approvals if a.phase == "prd"] == [
        ("request_changes", 1, feedback)
    ]
    assert snap.has_in_order("G-0001", "artifact.approved", "artifact.changes_requested")
    assert snap.actions("G-0001").count("artifact.changes_requested") == 1
    assert counts(snap) == {} and "prd.md" not in files(target_repo, "G-0001")
    assert snap.subjects()[0] == "orch(G-0001): changes requested on PRD v1"
    assert snap.log[0].trailers["Goal-Id"] == "G-0001" and "Approved-By" not in snap.log[0].trailers
    v2_text = approved_content(orch, "G-0001", "prd")
    assert feedback in v2_text and v2_text != v1_text
    assert "--- current artifact: prd v2 ---" in orch("goal", "show", "G-0001").stdout

    # v1's approval is refused as stale (and the refusal is audited); v2 is still waiting.
    v1_sha = hashlib.sha256(v1_text.encode()).hexdigest()
    with pytest.raises(StaleArtifact, match="v1, which is no longer the one awaiting a decision"):
        c.goals.decide(
            goal_id="G-0001", phase="prd", sha256=v1_sha, decision="approve", actor=Actor("U_LEAD")
        )
    [refused] = audit_entries(orch, "G-0001", "decision.refused")
    assert refused.payload_dict()["reason"] == "StaleArtifact" and refused.artifact_sha256 == v1_sha
    assert c.goals.get("G-0001").status == "awaiting_approval"
    assert watch.check().log == snap.log  # the refusal changed nothing in the repo

    out = orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    assert "approved prd v2; now task_list" in out.stdout
    snap = watch.check()
    assert (target_repo / "tasks/G-0001/prd.md").read_text(encoding="utf-8") == v2_text
    assert snap.sections["docs/PRD.md"] == [("G-0001", "prd", 2)]  # only approved versions are mirrored
    assert feedback in (target_repo / "docs/PRD.md").read_text(encoding="utf-8")
    assert snap.subjects()[0] == "orch(G-0001): approve PRD v2 — Add CSV export of invoices"
    [prd] = [a for a in snap.goal("G-0001").artifacts if a.phase == "prd"]
    assert (prd.version, prd.approved_sha256, prd.reviewed_by) == (
        2,
        hashlib.sha256(v2_text.encode()).hexdigest(),
        ["U_LEAD"],
    )
    assert snap.has_in_order(
        "G-0001",
        "artifact.drafted",
        "decision.refused",
        "artifact.approved",
        "phase.entered",
        since="artifact.changes_requested",
    )


def test_an_approved_file_edited_in_the_repo_fails_the_spec_guard_naming_it(
    orch: OrchCli, watch: RepoWatch, target_repo: Path
) -> None:
    orch("goal", "start", PLAIN_BRIEF, "--as", "U_REQ")
    orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    watch.check()
    prd = target_repo / "tasks/G-0001/prd.md"
    original = prd.read_bytes()
    prd.write_bytes(original + b"\nA sentence nobody approved.\n")

    out = orch("spec-guard", "--repo", str(target_repo), code=1)
    assert "G-0001 prd: tasks/G-0001/prd.md changed since v1 was approved" in out.stdout
    assert "1 problem(s)" in out.output

    prd.write_bytes(original)
    assert "no problems" in orch("spec-guard", "--repo", str(target_repo)).stdout


def test_a_rejection_stops_the_goal_and_the_index_says_so(
    orch: OrchCli, watch: RepoWatch, target_repo: Path
) -> None:
    orch("goal", "start", PLAIN_BRIEF, "--as", "U_REQ")
    for _ in range(2):
        orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    orch("goal", "reject", "G-0001", "--as", "U_QA", "--reason", "", code=1)
    out = orch("goal", "reject", "G-0001", "--as", "U_QA", "--reason", "Out of scope for this quarter")
    assert "rejected task_list v1; now task_list (rejected)" in out.stdout
    snap = watch.check()
    goal = snap.goal("G-0001")
    assert (goal.phase, goal.status, goal.state) == ("task_list", "rejected", "rejected")
    assert (
        goal.approvals[-1].decision == "reject"
        and goal.approvals[-1].reason == "Out of scope for this quarter"
    )
    assert snap.subjects()[0] == "orch(G-0001): rejected at Task List"
    assert snap.log[0].trailers["Goal-Id"] == "G-0001"
    assert snap.has_in_order("G-0001", "artifact.approved", "artifact.approved", "artifact.rejected")
    assert "tasks.md" not in files(target_repo, "G-0001") and "docs/TASKS.md" not in [
        rel for rel, found in snap.sections.items() if found
    ]

    out = orch("goal", "approve", "G-0001", "--as", "U_LEAD", code=1)
    assert "G-0001 is rejected; nothing more can be decided on it." in out.output
    assert "rejected" in orch("goal", "list").stdout
    assert watch.check().log == snap.log  # the refusal committed nothing
