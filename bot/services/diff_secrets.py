"""The secret gate on diffs: a diff that adds a secret is never approved, and its builder is asked to fix it.

The builder's diff is checked before it is redacted and stored (`bot.secret_diff`); what was found
is put on the audit log with the artifact's sha256 (`artifact.secret_found`), where it cannot be
edited, and every later check reads it from there. A diff stored unredacted is also checked live.

When a diff is recorded, `ask_builder_to_fix` queues a new build with the findings as feedback (at
most `MAX_AUTO_REDRAFTS` times per task, so a builder that cannot help it does not loop; after that
the diff waits for a person to request changes or reject). When anyone approves, by a button, a
forged click or the CLI, the decision rule (`bot.sop.gates.decide`) refuses it from these findings:
hiding the button is a courtesy, this is the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.secret_diff import added_secrets
from bot.services.errors import ServiceError
from bot.services.unit import Actor, add_effect, audit
from bot.sop.effect_kinds import Build, ThreadNote
from bot.sop.phases import Phase, PhaseStatus
from storage.models import Artifact, Goal
from storage.repositories import Artifacts, AuditReads
from storage.sessions import Session

SECRET_FOUND = "artifact.secret_found"
MAX_AUTO_REDRAFTS = 2
MAX_LISTED = 10


class SecretInDiff(ServiceError):
    def __init__(self, goal_id: str, version: int, findings: Sequence[str]) -> None:
        where = "; ".join(findings[:MAX_LISTED])
        super().__init__(
            f"Diff v{version} of {goal_id} adds what looks like a secret ({where}), so it cannot be approved. "
            "Request changes so it is removed (read it from configuration or the environment instead), or reject it."
        )
        self.findings = list(findings)


def findings_for(session: Session, artifact: Artifact) -> list[str]:
    """`path:line — kind` for each secret this diff adds: as recorded when it was built, or seen now."""
    if artifact.phase != Phase.IMPLEMENTATION.value:
        return []
    found: list[str] = []
    for payload in AuditReads(session).payloads(SECRET_FOUND, artifact.sha256):
        found += [str(f) for f in payload.get("findings") or []]
    found += [str(f) for f in added_secrets(artifact.content)]
    return list(dict.fromkeys(found))


def ask_builder_to_fix(
    session: Session, goal: Goal, artifact: Artifact, now: datetime, reported: Sequence[str] = ()
) -> bool:
    """In the transaction that records a diff: if it adds a secret, audit where and ask for a new build.

    `reported` are the findings on the builder's unredacted diff (`str(DiffSecret)`).
    """
    if artifact.phase != Phase.IMPLEMENTATION.value:
        return False
    where = list(dict.fromkeys([*reported, *(str(f) for f in added_secrets(artifact.content))]))[:MAX_LISTED]
    if not where:
        return False
    earlier = Artifacts(session).other_ids(artifact)
    redraft = len(earlier) < MAX_AUTO_REDRAFTS
    audit(
        session,
        actor=Actor("bot"),
        action=SECRET_FOUND,
        now=now,
        goal=goal,
        sha=artifact.sha256,
        version=artifact.version,
        task_id=artifact.task_id,
        findings=where,
        redraft_requested=redraft,
    )
    task, listed = artifact.task_id, "; ".join(where)
    if redraft:
        goal.status = PhaseStatus.CHANGES_REQUESTED
        session.add(goal)
        feedback = (
            f"Your diff adds what looks like a secret: {listed}. Remove it and read the value from "
            "configuration or the environment instead; never commit credentials."
        )
        add_effect(
            session,
            key=f"build:{goal.id}:{task}:{artifact.version + 1}",
            goal_id=goal.id,
            now=now,
            payload=Build(task_id=task, version=artifact.version + 1, feedback=feedback),
        )
        text = (
            f"🔐 Diff v{artifact.version} for task {task} adds what looks like a secret ({listed}). "
            "It cannot be approved; I asked the builder to remove it."
        )
    else:
        text = (
            f"🔐 Diff v{artifact.version} for task {task} still adds what looks like a secret ({listed}). "
            "It cannot be approved: request changes with guidance, or reject it."
        )
    if goal.channel_id:
        add_effect(
            session,
            key=f"note:{goal.id}:secret:{task}:{artifact.version}",
            goal_id=goal.id,
            now=now,
            payload=ThreadNote(text=text),
        )
    return True
