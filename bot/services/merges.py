"""What the repository answered: a task merged, a merge that conflicts, a repository a person must repair.

The goal is done only when its work has landed: every task merged (its merge commit recorded in
the task's evidence) and no commit of the goal failed or still waiting. A merge that conflicts
with a person's work stops the goal at that task and asks the thread what to do (Rebase and
rebuild; Request changes; Cancel). A repository in a state the bot did not create is said once in
the thread, and the effect waits for the repair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput
from bot.services.unit import Actor, add_effect, audit, load_goal_for_update
from bot.sop.effect_kinds import Build, MergeConflict, MergeConflictDecided, ThreadNote
from bot.sop.phases import GoalState, Phase, PhaseStatus
from storage.db import transaction
from storage.models import Goal
from storage.repositories import Artifacts, Effects, Goals
from storage.sessions import Session

if TYPE_CHECKING:
    from bot.services.goals import GoalService

MERGE_CONFLICT_KIND = MergeConflict.KIND


def _task(goal: Goal, task_id: int) -> dict[str, Any] | None:
    return next((t for t in goal.tasks if int(t["id"]) == task_id), None)


def _unsettled_repo_effects(session: Session, goal_id: str, but: str | None) -> int:
    """The goal's repository effects that have not landed (pending or failed), `but` left out.

    Delivery to a Git host (`repo.deliver`) is not among them: it follows the goal's state (the
    pull request is merged once the goal is Done), so Done cannot wait for it."""
    return len([k for k in Effects(session).unsettled_repo_keys(goal_id=goal_id) if k != but])


def _all_merged(goal: Goal) -> bool:
    tasks = goal.tasks or []
    return all(t.get("status") in ("done", "cancelled") for t in tasks) and all(
        t.get("merge_commit") for t in tasks if t.get("status") == "done"
    )


def settle(service: GoalService, session: Session, goal: Goal, *, but: str | None) -> bool:
    """Enter Done when the Implementation is approved and everything it depends on has landed."""
    if (
        goal.state != GoalState.ACTIVE
        or goal.phase != Phase.IMPLEMENTATION.value
        or goal.status != PhaseStatus.APPROVED
        or not _all_merged(goal)
        or _unsettled_repo_effects(session, goal.id, but)
    ):
        return False
    from bot.services.flow import enter_phase  # local: flow imports the goal service's module

    enter_phase(service, session, goal, Phase.DONE, service.clock(), Actor("bot"), "merged")
    return True


def record_merged(service: GoalService, *, goal_id: str, task_id: int, sha: str, effect_key: str) -> None:
    """A task's merge commit is on main: keep it as the task's evidence; Done when it was the last."""
    now = service.clock()
    with transaction(service.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            return
        tasks = [dict(t) for t in goal.tasks]
        task = next((t for t in tasks if int(t["id"]) == task_id), None)
        if task is not None and task.get("merge_commit") != sha:
            task["merge_commit"] = sha
            evidence = dict(task.get("evidence") or {})
            evidence["commits"] = [*evidence.get("commits", []), sha]
            task["evidence"] = evidence
            goal.tasks = tasks
            goal.updated_at = now
            session.add(goal)
            audit(
                session,
                actor=Actor("bot"),
                action="task.merged",
                now=now,
                goal=goal,
                task_id=task_id,
                commit=sha,
            )
        settle(service, session, goal, but=effect_key)
    service._committed()


def settle_goal(service: GoalService, *, goal_id: str, effect_key: str) -> None:
    """After any commit of the goal landed: Done if that was the last thing it waited for."""
    with transaction(service.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None or not settle(service, session, goal, but=effect_key):
            return
    service._committed()


def record_conflict(
    service: GoalService, *, goal_id: str, task_id: int, version: int, files: list[str], base: str | None
) -> None:
    """The task's diff conflicts with main: stop the goal at that task and ask the thread."""
    now = service.clock()
    with transaction(service.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None or goal.state != GoalState.ACTIVE:
            return  # cancelled meanwhile: nothing to ask
        tasks = [dict(t) for t in goal.tasks]
        for task in tasks:
            if int(task["id"]) == task_id:
                task["status"] = "blocked"
                task["conflict"] = {"files": files, "version": version, "base": base}
            elif task.get("status") == "in-progress":
                task["status"] = "pending"  # its build waits until this task is merged
        goal.tasks = tasks
        goal.phase = Phase.IMPLEMENTATION.value
        goal.status = PhaseStatus.BLOCKED
        goal.updated_at = now
        session.add(goal)
        audit(
            session,
            actor=Actor("bot"),
            action="task.merge_conflict",
            now=now,
            goal=goal,
            task_id=task_id,
            version=version,
            files=files,
        )
        task = _task(goal, task_id) or {}
        add_effect(
            session,
            key=f"conflict:{goal.id}:{task_id}:{version}",
            goal_id=goal.id,
            now=now,
            payload=MergeConflict(
                task_id=task_id, version=version, title=str(task.get("title", "")), files=files
            ),
        )
        service._card_effect(session, goal, now, f"conflict:{task_id}:{version}")
    service._committed()


def _blocked_goal(service: GoalService, session: Session, goal_id: str, task_id: int, actor: Actor) -> Goal:
    goal = load_goal_for_update(session, goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    if goal.state != GoalState.ACTIVE:
        raise GoalClosed(goal.id, goal.state)
    task = _task(goal, task_id)
    if goal.status != PhaseStatus.BLOCKED or task is None or task.get("status") != "blocked":
        raise InvalidInput(f"Task {task_id} of {goal.id} is not waiting on a merge conflict any more.")
    if (
        actor.id != goal.requester
        and not service.directory.is_approver(actor.id, repo=goal.repo)
        and not actor.id.startswith("cli:")
    ):
        raise InvalidInput(f"Only the requester or an approver can decide how {goal.id} goes on.")
    return goal


def rebuild_after_conflict(
    service: GoalService, *, goal_id: str, task_id: int, actor: Actor, feedback: str | None = None
) -> int:
    """Rebase and rebuild (or, with `feedback`, request changes): build the task again on main as it
    is now, from the conflicting version's diff and the person's notes. Returns the new version."""
    now = service.clock()
    with transaction(service.engine) as session:
        goal = _blocked_goal(service, session, goal_id, task_id, actor)
        last = Artifacts(session).last_version(
            goal_id=goal.id, phase=Phase.IMPLEMENTATION.value, task_id=task_id
        )
        version = (last or 0) + 1
        tasks = [dict(t) for t in goal.tasks]
        conflict: dict[str, Any] = {}
        for task in tasks:
            if int(task["id"]) == task_id:
                task["status"] = "in-progress"
                conflict = dict(task.pop("conflict", None) or {})
        goal.tasks = tasks
        goal.status = PhaseStatus.CHANGES_REQUESTED if feedback else PhaseStatus.DRAFTING
        goal.updated_at = now
        session.add(goal)
        files = ", ".join(conflict.get("files") or []) or "files changed on main"
        note = f"Rebuild on the current main: the earlier diff conflicted with a change to {files}."
        audit(
            session,
            actor=actor,
            action="task.rebuild_requested",
            now=now,
            goal=goal,
            task_id=task_id,
            version=version,
            reason=feedback,
            files=conflict.get("files"),
        )
        add_effect(
            session,
            key=f"build:{goal.id}:{Phase.IMPLEMENTATION.value}:{task_id}:{version}",
            goal_id=goal.id,
            now=now,
            payload=Build(
                phase=Phase.IMPLEMENTATION.value,
                version=version,
                task_id=task_id,
                rebase=True,
                feedback=f"{note}\n\n{feedback}" if feedback else note,
            ),
        )
        add_effect(
            session,
            key=f"conflict:{goal.id}:{task_id}:{conflict.get('version', version - 1)}:decided",
            goal_id=goal.id,
            now=now,
            payload=MergeConflictDecided(
                conflict_key=f"conflict:{goal.id}:{task_id}:{conflict.get('version', version - 1)}",
                by=actor.id,
                choice="changes" if feedback else "rebuild",
            ),
        )
        service._card_effect(session, goal, now, f"rebuild:{task_id}:{version}")
    service._committed()
    return version


def report_repo_problem(
    service: GoalService, *, goal_id: str, effect_key: str, doing: str, kind: str, problem: str, remedy: str
) -> bool:
    """Tell the goal's thread once that `doing` waits for a person to repair the repository.

    Once per goal and kind of problem while it lasts: the goal's other commits that meet it too
    stay quiet, and a commit that lands afterwards ends it (the next one is said again)."""
    now = service.clock()
    prefix = f"note:{goal_id}:repo:{kind}:"
    with transaction(service.engine) as session:
        goal = Goals(session).get(goal_id)
        if goal is None:
            return False
        effects = Effects(session)
        told = effects.newest_with_prefix(prefix=prefix)
        if told is not None and not effects.repo_landed_after(goal_id=goal_id, after=told.created_at):
            return False
        count = effects.count_with_prefix(prefix)
        key = f"{prefix}{count + 1}"
        audit(
            session,
            actor=Actor("bot"),
            action="repo.needs_person",
            now=now,
            goal=goal,
            kind=kind,
            problem=problem,
            effect=effect_key,
        )
        add_effect(
            session,
            key=key,
            goal_id=goal.id,
            now=now,
            payload=ThreadNote(
                text=f"⚠️ {goal.id}: {doing} is waiting — {problem}. What you can do: {remedy}. "
                "Nothing is lost: it is retried until it goes through."
            ),
        )
    service._committed()
    return True


def cancel_after_conflict(service: GoalService, *, goal_id: str, task_id: int, actor: Actor) -> Goal:
    """Cancel the goal from its merge-conflict message (the cancel itself is the goal service's)."""
    with transaction(service.engine) as session:
        goal = _blocked_goal(service, session, goal_id, task_id, actor)
        version = int((_task(goal, task_id) or {}).get("conflict", {}).get("version", 0))
    cancelled = service.cancel(
        goal_id=goal_id, actor=actor, reason=f"cancelled at task {task_id}'s merge conflict"
    )
    with transaction(service.engine) as session:
        add_effect(
            session,
            key=f"conflict:{goal_id}:{task_id}:{version}:decided",
            goal_id=goal_id,
            now=service.clock(),
            payload=MergeConflictDecided(
                conflict_key=f"conflict:{goal_id}:{task_id}:{version}", by=actor.id, choice="cancel"
            ),
        )
    service._committed()
    return cancelled
