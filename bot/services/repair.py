"""The repository is part of the memory: rebuild the database from what the repository records.

`tasks/index.json` lists each goal with its artifacts (latest version per phase), its approvals
and its tasks; the canonical files hold the artifacts' text (older versions are found in the git
history by their sha256). When the database is lost, `repair_from_repo` puts back every goal the
database lacks, audited, and `behind_repository` tells `orch doctor` that it should be run.

Goal ids come from a counter in the database; `highest_goal_number` is the floor the repository
sets for it (ids in the index and in `Goal-Id` trailers), so a fresh database never hands out an
id that the repository already uses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.repo.git import has_commits, repo_top_level, run_in
from bot.services.errors import InvalidInput
from bot.services.state_of_record import EVENTS_BASE, goal_record
from bot.services.unit import Actor, Clock, add_effect, audit
from bot.sop.effect_kinds import Draft, PublishState
from bot.sop.index import EVENTS_PATH, load_index
from bot.sop.phases import ORDER, GoalState, Phase, PhaseStatus
from bot.sop.records import GoalRecord
from storage.db import read_session, transaction
from storage.models import Approval, Artifact, ArtifactReview, Goal
from storage.repositories import AuditReads, Counters, Goals
from storage.sessions import Engine, Session

_GOAL_NUMBER = re.compile(r"\bG-(\d{4,})\b")
_EVENT_NUMBER = re.compile(r'"id":\s*"audit-(\d+)"')
RESTORED_BY = "restored"  # `drafted_by` of an artifact read back from the repository


@dataclass
class RepairReport:
    restored: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # already in the database, left alone
    commit: str | None = None  # the repository's HEAD the goals were read from


def _git_root(repo: Path) -> Path | None:
    top = repo_top_level(repo)
    return top if top is not None and has_commits(top) else None


def highest_goal_number(repo: str | Path) -> int:
    """The highest goal number the repository uses: in `tasks/index.json` and in `Goal-Id` trailers."""
    root = Path(repo)
    numbers = [0]
    index = root / "tasks" / "index.json"
    if index.is_file():
        numbers += [int(n) for n in _GOAL_NUMBER.findall(index.read_text(encoding="utf-8", errors="replace"))]
    top = _git_root(root)
    if top is not None:
        out = run_in(top, "log", "--all", "--format=%(trailers:key=Goal-Id,valueonly)").stdout
        numbers += [int(n) for n in _GOAL_NUMBER.findall(out)]
    return max(numbers)


def _file_at(top: Path | None, root: Path, rel: str, sha256: str) -> str | None:
    """The text of `rel` whose sha256 is `sha256`: the file as it is, else a version in the history."""
    path = root / rel
    if path.is_file():
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() == sha256:
            return raw.decode("utf-8")
    if top is None:
        return None
    commits = run_in(top, "log", "--all", "--format=%H", "--", rel).stdout.split()
    for commit in commits:
        shown = run_in(top, "show", f"{commit}:{rel}", ok_codes=(0, 128))
        if shown.returncode == 0 and hashlib.sha256(shown.stdout.encode("utf-8")).hexdigest() == sha256:
            return shown.stdout
    return None


def _highest_event(root: Path) -> int:
    path = root / EVENTS_PATH
    if not path.is_file():
        return 0
    return max((int(n) for n in _EVENT_NUMBER.findall(path.read_text(encoding="utf-8"))), default=0)


def _artifacts(top: Path | None, root: Path, record: GoalRecord) -> list[Artifact]:
    """Every artifact version the index names (latest per phase, and those approvals refer to)."""
    wanted: dict[tuple[str, int], tuple[str, str]] = {}
    paths = {a.phase: a.path for a in record.artifacts}
    for a in record.approvals:
        if a.phase in paths:
            wanted[(a.phase, a.artifact_version)] = (a.artifact_sha256, paths[a.phase])
    for art in record.artifacts:
        wanted[(art.phase, art.version)] = (art.sha256, art.path)
    rows = []
    for (phase, version), (sha, rel) in sorted(
        wanted.items(), key=lambda kv: (ORDER.index(Phase(kv[0][0])), kv[0][1])
    ):
        content = _file_at(top, root, rel, sha)
        if content is None:
            if any(a.phase == phase and a.approved_sha256 == sha for a in record.artifacts):
                raise InvalidInput(
                    f"{record.id}: {rel} v{version} (sha256 {sha[:12]}) is neither in the work tree nor in "
                    "the history; restore the file, then run the repair again"
                )
            # A draft nobody approved is never committed, so a lost database loses its text: the
            # decisions on it are still restored, and the current phase is drafted again.
            continue
        at = next((a.at for a in record.approvals if a.artifact_sha256 == sha), record.updated)
        rows.append(
            Artifact(
                goal_id=record.id,
                phase=phase,
                version=version,
                content=content,
                summary=f"{phase} v{version}, restored from the repository",
                sha256=sha,
                drafted_by=RESTORED_BY,
                offline=False,
                created_at=at,
            )
        )
    return rows


def _goal_row(record: GoalRecord) -> Goal:
    return Goal(
        id=record.id,
        title=record.title,
        brief=f"{record.title}\n\n(Restored from tasks/index.json; the original brief was not recorded there.)",
        requester=record.requester,
        channel_id=record.channel,
        thread_ts=record.thread_ts,
        source="repair",
        phase=record.phase,
        status=record.status,
        state=record.state,
        mode=record.mode,
        spec_required=record.spec_required,
        spec_triggers=list(record.spec_triggers),
        spec_waiver=record.spec_waiver.model_dump(mode="json") if record.spec_waiver else None,
        tasks=[t.model_dump(mode="json") for t in record.tasks],
        phase_started_at=record.updated,
        created_at=record.created,
        updated_at=record.updated,
    )


def _decisions(session: Session, record: GoalRecord) -> None:
    for a in record.approvals:
        if a.decision == "reaffirm":
            session.add(
                ArtifactReview(
                    goal_id=record.id,
                    phase=a.phase,
                    artifact_version=a.artifact_version,
                    artifact_sha256=a.artifact_sha256,
                    by=a.by,
                    at=a.at,
                )
            )
            continue
        session.add(
            Approval(
                goal_id=record.id,
                phase=a.phase,
                artifact_version=a.artifact_version,
                artifact_sha256=a.artifact_sha256,
                decision=a.decision,
                by=a.by,
                reason=a.reason,
                slack_channel=a.slack_channel,
                slack_ts=a.slack_ts,
                at=a.at,
            )
        )


def _redraft_if_lost(
    session: Session, goal: Goal, record: GoalRecord, rows: list[Artifact], now: datetime
) -> None:
    """A goal waiting on a draft whose text was lost goes back to drafting that version."""
    current = next((a for a in record.artifacts if a.phase == goal.phase), None)
    if goal.state != GoalState.ACTIVE or current is None or current.approved_sha256:
        return
    if any(r.phase == current.phase and r.version == current.version for r in rows):
        return
    goal.status = PhaseStatus.DRAFTING
    session.add(goal)
    add_effect(
        session,
        key=f"draft:{goal.id}:{goal.phase}:0:{current.version}:restored",
        goal_id=goal.id,
        now=now,
        payload=Draft(phase=goal.phase, version=current.version),
    )


def repair_from_repo(*, engine: Engine, repo: str | Path, actor: Actor, clock: Clock) -> RepairReport:
    """Restore every goal of the repository's index that the database lacks; audited, one transaction.

    Each restored goal gets an audit entry and a state commit (its `tasks/index.json` entry, written
    back from the restored rows, is byte-identical when nothing was lost; the commit records the
    repair in the repository's history).
    """
    root = Path(repo).resolve()
    if not (root / "tasks" / "index.json").is_file():
        raise InvalidInput(f"{root.name} has no tasks/index.json: there is nothing to restore from")
    index = load_index(root)
    top = _git_root(root)
    report = RepairReport(commit=run_in(top, "rev-parse", "HEAD").stdout.strip() if top else None)
    now = clock()
    with transaction(engine) as session:
        last_seq = AuditReads(session).head_seq() or 0
        counters = Counters(session)
        # Events already in tasks/events.jsonl keep their numbers; the new log's are numbered after them.
        counters.raise_to(name=EVENTS_BASE, value=max(0, _highest_event(root) - last_seq))
        counters.raise_to(name="goal", value=highest_goal_number(root))
        for record in index.goals:
            if Goals(session).get(record.id) is not None:
                report.known.append(record.id)
                continue
            goal = _goal_row(record)
            session.add(goal)
            session.flush()
            rows = _artifacts(top, root, record)
            for row in rows:
                session.add(row)
            _decisions(session, record)
            _redraft_if_lost(session, goal, record, rows, now)
            session.flush()
            audit(
                session,
                actor=actor,
                action="goal.restored",
                now=now,
                goal=goal,
                source="repository",
                commit=report.commit,
                artifacts=len(record.artifacts),
                approvals=len(record.approvals),
            )
            add_effect(
                session,
                key=f"publish:{goal.id}:restored:{now.isoformat()}",
                goal_id=goal.id,
                now=now,
                payload=PublishState(
                    message=f"orch({goal.id}): restore the goal's database records from the repository"
                ),
            )
            report.restored.append(record.id)
    return report


def behind_repository(engine: Engine, repo: str | Path) -> list[str]:
    """What the repository records that the database does not (empty when the database keeps up)."""
    root = Path(repo)
    if not (root / "tasks" / "index.json").is_file():
        return []
    index = load_index(root)
    gaps: list[str] = []
    with read_session(engine) as session:
        for record in index.goals:
            goal = Goals(session).get(record.id)
            if goal is None:
                gaps.append(f"{record.id} is in tasks/index.json but not in the database")
                continue
            mine = goal_record(session, goal)
            have = {(a.phase, a.version) for a in mine.artifacts}
            missing = [
                f"{a.phase} v{a.version}" for a in record.artifacts if (a.phase, a.version) not in have
            ]
            newer = [
                a
                for a in record.artifacts
                if a.last_review is not None
                and all(
                    m.last_review is None or m.last_review < a.last_review
                    for m in mine.artifacts
                    if m.phase == a.phase
                )
            ]
            if missing:
                gaps.append(f"{record.id}: the database lacks {', '.join(missing)}")
            elif newer:
                gaps.append(f"{record.id}: the repository records later reviews than the database")
        floor = highest_goal_number(root)
        if (Counters(session).value("goal") or 0) < floor:
            gaps.append(f"the goal counter is below G-{floor:04d}, which the repository already uses")
    return gaps
