"""Effects that do the work: draft a phase, build a task in the goal's worktree, publish to the repo.

Each is idempotent: a draft is stored once per (goal, phase, version); a publish is found again by
its `Orch-Effect` commit trailer; a merge by the task's trailer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.audit_anchor import head_value
from bot.config import Settings
from bot.effects.dispatcher import EffectDispatcher, WaitForPerson
from bot.effects.port import Handler, Work, payload_of
from bot.faults import fault_point
from bot.redact import redact
from bot.secret_diff import added_secrets
from bot.services.goals import GoalService
from bot.sop.effect_kinds import (
    ApplyScaffold,
    Build,
    Draft,
    Merge,
    PublishArtifact,
    PublishState,
    RemoveWorktree,
)
from bot.sop.phases import LABELS, Phase
from bot.sop.records import TaskRecord
from storage.db import from_loop, read_session
from storage.models import Artifact, Effect, Goal
from storage.repositories import Artifacts

if TYPE_CHECKING:
    from bot.deps import Deps as Container

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class WorkEffects:
    goals: GoalService
    settings: Settings
    drafter: Any
    # Builds tell the goal's status message how Codex is doing through the outbox's Slack handler.
    _dispatcher: EffectDispatcher | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_container(cls, c: Container) -> WorkEffects:
        from bot.agents.sdk import make_drafter

        work = cls(goals=c.goals, settings=c.settings, drafter=make_drafter(c.settings))
        work._dispatcher = c.dispatcher
        return work

    def handlers(self) -> dict[str, Handler]:
        return {
            Draft.KIND: self.draft,
            Build.KIND: self.build,
            PublishArtifact.KIND: self.publish_artifact,
            PublishState.KIND: self.publish_state,
            ApplyScaffold.KIND: self.apply_scaffold,
            Merge.KIND: self.merge,
            RemoveWorktree.KIND: self.remove_worktree,
        }

    # -- shared ------------------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        return self.goals.engine

    def git(self) -> Any:
        """The target repository, opened once (three git calls) and reused while it is still there."""
        from bot.repo.git import Identity, ensure_repo

        wanted = (str(Path(self.settings.repo)), self.settings.git_name, self.settings.git_email)
        cached = getattr(self, "_git", None)
        if cached is not None and cached[0] == wanted and (cached[1].git_dir / "HEAD").is_file():
            return cached[1]
        git = ensure_repo(
            Path(self.settings.repo),
            init_if_missing=True,
            identity=Identity(
                name=self.settings.git_name,
                email=self.settings.git_email,
                signing_key=str(key) if (key := self.settings.signing_key) else None,
            ),
            timeout=float(self.settings.git_timeout_seconds),
            stale_lock_seconds=float(self.settings.git_stale_lock_seconds),
        )
        # Every commit carries the audit log's head, a copy of it the database cannot rewrite.
        git.audit_head = partial(head_value, self.engine)
        self._git = (wanted, git)
        return git

    async def _repo(self, effect: Effect, doing: str, work: Callable[[], T]) -> T:
        """Run repository work; a repository a person must repair is said once in the goal's thread
        and the effect waits for the repair (it never runs out of attempts meanwhile)."""
        from bot.repo.errors import GitLockHeld
        from bot.repo.health import RepoNeedsPerson, needs_person

        recheck = float(self.settings.repo_recheck_seconds)
        try:
            return await asyncio.to_thread(work)
        except GitLockHeld as exc:
            # A git process that is still running holds the lock: wait for it; say so once it
            # has held it for longer than any command of the bot takes.
            try:
                age = time.time() - exc.lock.stat().st_mtime
            except OSError:
                age = 0.0
            if age < float(self.settings.git_stale_lock_seconds):
                raise WaitForPerson(str(exc), delay=min(recheck, 2.0)) from exc
            blocked: RepoNeedsPerson | None = RepoNeedsPerson(
                "lock-held",
                f"a running git process has held `{exc.lock.name}` in the repository for {age:.0f}s",
                "let that git command finish (or end it)",
            )
        except Exception as exc:
            blocked = needs_person(exc)
            if blocked is None:
                raise
        assert blocked is not None
        if effect.goal_id:
            from bot.services.merges import report_repo_problem

            await asyncio.to_thread(
                report_repo_problem,
                self.goals,
                goal_id=effect.goal_id,
                effect_key=effect.key,
                doing=doing,
                kind=blocked.kind,
                problem=blocked.problem,
                remedy=blocked.remedy,
            )
        raise WaitForPerson(str(blocked), delay=recheck) from blocked

    async def _landed(self, effect: Effect) -> None:
        """A commit of the goal landed: if it was the last thing the goal waited for, it is done."""
        if effect.goal_id:
            from bot.services.merges import settle_goal

            await asyncio.to_thread(settle_goal, self.goals, goal_id=effect.goal_id, effect_key=effect.key)

    def _goal(self, goal_id: str | None) -> Goal | None:
        with read_session(self.engine) as session:
            return session.get(Goal, goal_id) if goal_id else None

    def _artifacts(self, goal_id: str) -> list[Artifact]:
        with read_session(self.engine) as session:
            return Artifacts(session).of_goal(goal_id)

    # -- drafting ----------------------------------------------------------------------------

    async def draft(self, effect: Work) -> None:
        goal = self._goal(effect.goal_id)
        p = payload_of(effect, Draft)
        phase = Phase(p.phase)
        version = p.version
        if goal is None or goal.state != "active" or goal.phase != phase.value:
            return  # obsolete: the goal moved on or closed
        if phase is Phase.SCAFFOLD_CHECK:
            from bot.sop.scaffold import inspect_scaffold

            report = await asyncio.to_thread(inspect_scaffold, Path(self.settings.repo))
            content, summary = report.to_markdown(), report.summary()
            drafted_by, offline, tasks = "scaffold-check", True, None
        else:
            from bot.agents.drafting import DraftRequest
            from bot.agents.templates import load_template
            from bot.learn.guidance import read_guidance

            artifacts = self._artifacts(goal.id)
            approved: dict[str, str] = {}
            for art in artifacts:
                approved[art.phase] = art.content  # later versions overwrite earlier ones
            previous = next((a.content for a in reversed(artifacts) if a.phase == phase.value), None)
            req = DraftRequest(
                goal_id=goal.id,
                title=goal.title,
                brief=goal.brief,
                phase=phase,
                previous=previous if version > 1 else None,
                feedback=p.feedback,
                approved={k: v for k, v in approved.items() if k != phase.value},
                tasks=[TaskRecord.model_validate(t) for t in goal.tasks],
                triggers=list(goal.spec_triggers),
                template=load_template(phase, Path(self.settings.repo)),
                repo_guidance=read_guidance(Path(self.settings.repo)).text or None,
            )
            from bot.services import budgets

            held = {"kind": "draft", "key": effect.key, "payload": dict(effect.payload)}
            check = partial(budgets.check, self.goals, self.settings, goal_id=goal.id)
            standing = await from_loop(self.engine, check, held=held)
            if standing is not None and standing.over:
                return  # paused at its budget: an approver's raise drafts it then
            result = await self.drafter.draft(req)
            if result.usage:
                await from_loop(self.engine, self._record_draft_usage, goal.id, phase, result)
                await from_loop(self.engine, check)
            content, summary = redact(result.markdown), redact(result.summary)
            drafted_by, offline = result.drafted_by, result.offline
            tasks = [t.model_dump(mode="json") for t in result.tasks] if result.tasks is not None else None
        await from_loop(
            self.engine,
            self.goals.record_draft,
            goal_id=goal.id,
            phase=phase.value,
            version=version,
            content=content,
            summary=summary,
            drafted_by=drafted_by,
            offline=offline,
            tasks=tasks,
            feedback=p.feedback,
        )

    def _record_draft_usage(self, goal_id: str, phase: Phase, result: Any) -> None:
        """A run record of a model's draft, so its usage counts towards the goal's cost."""
        from bot.observability.runs import RunRecorder, deployment_of, runs_dir_for

        RunRecorder(
            root=runs_dir_for(self.settings),
            deployment_id=deployment_of(self.settings),
            goal_id=goal_id,
            phase=phase.value,
            role="drafter",
            backend="openai",
            model=result.drafted_by,
        ).start().finish("completed", usage=result.usage)

    # -- implementation ----------------------------------------------------------------------

    async def build(self, effect: Work) -> None:
        goal = self._goal(effect.goal_id)
        if goal is None or goal.state != "active" or goal.phase != Phase.IMPLEMENTATION.value:
            return
        p = payload_of(effect, Build)
        task_id, version = p.task_id, p.version
        task = next((TaskRecord.model_validate(t) for t in goal.tasks if int(t["id"]) == task_id), None)
        if task is None or task.status != "in-progress":
            return  # obsolete: a merge conflict stopped the goal before this task's turn
        rebase = p.rebase

        from bot.codex.progress import relay

        progress = relay(getattr(self, "_dispatcher", None), goal.id)

        def approve(request: Any, run_id: str, stopped: Callable[[], bool]) -> bool:
            """Codex asks for what its sandbox does not allow: the thread's approvers decide, it waits."""
            from bot.services.codex_approvals import ask_and_wait

            timeout = float(self.settings.codex_approval_timeout)
            return ask_and_wait(
                self.goals, goal_id=goal.id, run_id=run_id, request=request, timeout=timeout, stopped=stopped
            )

        from bot.services import budgets

        held = {"kind": "build", "key": effect.key, "payload": dict(effect.payload)}
        standing = await asyncio.to_thread(
            budgets.check, self.goals, self.settings, goal_id=goal.id, held=held
        )
        if standing is not None and standing.over:
            return  # paused at its budget: an approver's raise runs this build again
        over_budget = await asyncio.to_thread(
            budgets.over_budget_watch, self.goals, self.settings, goal.id, str(self.settings.codex_model)
        )

        def work() -> Any:
            from bot.agents.implement import implement_task

            git = self.git()
            worktree = git.worktree_add(goal.id)
            if rebase:  # after a merge conflict: build again on main as it is now
                git.worktree_reset_to_main(goal.id)
            return implement_task(
                settings=self.settings,
                goal_id=goal.id,
                task=task,
                worktree=worktree,
                feedback=p.feedback,
                mode=goal.mode,
                on_progress=progress,
                approve=approve,
                over_budget=over_budget,
            )

        watch = (
            asyncio.create_task(self._watch_stop(goal.id, self.goals.clock()))
            if self.settings.builder == "codex"
            else None
        )
        try:
            result = await asyncio.to_thread(work)
        finally:
            if watch is not None:
                watch.cancel()
        fault_point("during_agent_job")  # crash tests: the worktree is written, the diff not yet recorded
        if result.stopped_by == budgets.BUDGET_STOP:  # the budget stopped the turn: pause, ask an approver
            await asyncio.to_thread(budgets.check, self.goals, self.settings, goal_id=goal.id, held=held)
            return
        await asyncio.to_thread(budgets.check, self.goals, self.settings, goal_id=goal.id)
        if result.stopped_by or not result.diff.strip():  # nothing to approve: say why, offer a retry
            from bot.services.empty_build import record_empty_build

            await asyncio.to_thread(
                record_empty_build,
                self.goals,
                goal_id=goal.id,
                task_id=task_id,
                version=version,
                run_id=result.run_id,
                last_message=result.last_message or result.summary,
                failed_actions=result.failed_actions,
                stopped_by=result.stopped_by,
            )
            return
        await from_loop(
            self.engine,
            self.goals.record_draft,
            goal_id=goal.id,
            phase=Phase.IMPLEMENTATION.value,
            version=version,
            content=redact(result.diff) if result.diff else "(no changes)",
            summary=redact(result.summary),
            secrets=[str(s) for s in added_secrets(result.diff)],  # checked before redaction hides them
            drafted_by=result.drafted_by,
            offline=result.offline,
            task_id=task_id,
            feedback=p.feedback,
            run_id=result.run_id,
        )

    async def _watch_stop(self, goal_id: str, since: Any) -> None:
        """A Stop clicked, or a follow-up replied, where this build does not run (another process)
        is recorded; this process, which runs it, picks it up: it interrupts or steers the turn."""
        from bot.codex import running
        from bot.services.build_steer import steers_waiting
        from bot.services.build_stop import POLL_SECONDS, stop_requested_by

        sent: set[int] = set()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            by = await asyncio.to_thread(stop_requested_by, self.goals, goal_id=goal_id, since=since)
            if by is not None and running.interrupt(goal_id, by=by):
                return
            waiting = await asyncio.to_thread(
                steers_waiting, self.goals, goal_id=goal_id, since=since, done=sent
            )
            for seq, author, text in waiting:
                if running.steer(goal_id, text, by=author):
                    sent.add(seq)

    async def merge(self, effect: Effect) -> None:
        goal = self._goal(effect.goal_id)
        if goal is None:
            return
        p = payload_of(effect, Merge)
        task_id = p.task_id
        task = next((t for t in goal.tasks if int(t["id"]) == task_id), {"title": f"task {task_id}"})
        trailers = {
            "Goal-Id": goal.id,
            "Phase": "implementation",
            "Task-Id": str(task_id),
            "Orch-Effect": effect.key,
        }

        def work() -> str:
            from bot.repo.health import check_main_checkout

            git = self.git()
            if done := git.find_commit_by_trailer("Orch-Effect", effect.key):
                return str(done)
            check_main_checkout(git)
            git.commit_in_worktree(
                goal.id,
                f"orch({goal.id}): task {task_id} — {task.get('title', '')}",
                {"Goal-Id": goal.id, "Task-Id": str(task_id)},
            )
            return str(
                git.merge_worktree(
                    goal.id, f"orch({goal.id}): merge task {task_id} — {task.get('title', '')}", trailers
                )
            )

        from bot.repo.errors import MergeConflictError
        from bot.services.merges import record_conflict, record_merged

        try:
            sha = await self._repo(effect, f"merging task {task_id}", work)
        except MergeConflictError as exc:
            # A person's change on main and the task's diff touch the same lines: a person decides.
            await asyncio.to_thread(
                record_conflict,
                self.goals,
                goal_id=goal.id,
                task_id=task_id,
                version=p.version or _version_of(effect.key),
                files=list(exc.files),
                base=None,
            )
            return
        await asyncio.to_thread(
            record_merged, self.goals, goal_id=goal.id, task_id=task_id, sha=sha, effect_key=effect.key
        )

    async def remove_worktree(self, effect: Effect) -> None:
        goal = self._goal(effect.goal_id)
        if goal is None:
            return
        await self._repo(effect, "removing the goal's worktree", lambda: self.git().worktree_remove(goal.id))

    # -- publishing --------------------------------------------------------------------------

    async def publish_artifact(self, effect: Effect) -> None:
        from bot.services.state_of_record import events_base, goal_record, pending_events
        from bot.sop.records import GoalRecord

        p = payload_of(effect, PublishArtifact)
        snapshot = p.record  # the goal as it was approved (bot.services.flow)
        until = p.events_until
        with read_session(self.engine) as session:
            artifact = session.get(Artifact, p.artifact_id)
            assert artifact is not None
            goal = session.get(Goal, artifact.goal_id)
            assert goal is not None
            record = GoalRecord.model_validate(snapshot) if snapshot else goal_record(session, goal)
            events = pending_events(session, goal.id)
            base = events_base(session)
        if snapshot:
            events = [e for e in events if until is not None and e["seq"] <= until + base]
        approvers = sorted(
            {
                a.by
                for a in record.approvals
                if a.artifact_sha256 == artifact.sha256 and a.decision == "approve"
            }
        )
        at = max(
            (a.at for a in record.approvals if a.artifact_sha256 == artifact.sha256),
            default=goal.updated_at,
        )

        def work() -> None:
            from bot.repo.health import check_main_checkout_unless_done
            from bot.sop.publish import publish_approval

            git = self.git()
            # Before writing a file into a checkout a person is repairing (unless it is done).
            check_main_checkout_unless_done(git, effect.key)
            publish_approval(
                Path(self.settings.repo),
                index_entry=record,
                phase=Phase(artifact.phase),
                version=artifact.version,
                content=artifact.content,
                approved_by=approvers,
                approved_at=at,
                events=events,
                effect_key=effect.key,
                git=git,
            )

        await self._repo(effect, f"committing the approved {LABELS[Phase(artifact.phase)]}", work)
        await self._landed(effect)

    async def publish_state(self, effect: Effect) -> None:
        from bot.services.state_of_record import goal_record, pending_events

        p = payload_of(effect, PublishState)
        with read_session(self.engine) as session:
            goal = session.get(Goal, effect.goal_id)
            if goal is None:
                return
            record = goal_record(session, goal)
            events = pending_events(session, goal.id)

        def work() -> None:
            from bot.repo.health import check_main_checkout_unless_done
            from bot.sop.publish import publish_state

            git = self.git()
            check_main_checkout_unless_done(git, effect.key)
            publish_state(
                Path(self.settings.repo),
                index_entry=record,
                events=events,
                message=p.message or f"orch({goal.id}): update",
                effect_key=effect.key,
                git=git,
                trailers=p.trailers,
            )

        await self._repo(effect, "recording the goal's state in the repository", work)
        await self._landed(effect)

    async def apply_scaffold(self, effect: Effect) -> None:
        def work() -> None:
            from bot.repo.health import check_main_checkout_unless_done
            from bot.sop.scaffold import apply_scaffold, inspect_scaffold

            git = self.git()
            if check_main_checkout_unless_done(git, effect.key):
                return
            report = inspect_scaffold(Path(self.settings.repo))
            apply_scaffold(Path(self.settings.repo), report, git, effect_key=effect.key)

        await self._repo(effect, "committing the scaffold (tasks/ and docs/)", work)
        await self._landed(effect)


def _version_of(key: str) -> int:
    """The diff version in a merge effect's key (`merge:<goal>:<task>:<version>`)."""
    tail = key.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 1
