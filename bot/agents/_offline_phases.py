"""The offline drafter's content for each phase, built from the brief by plain rules.

Nothing here pretends to understand the brief: statements are restated as goals, requirements
and tasks, and the text says so. Every function is pure and deterministic (no clock, no
randomness, no set iteration), so the same request always yields the same bytes.
"""

from __future__ import annotations

from bot.agents._brief import (
    capitalise,
    lower_first,
    short_title,
    split_brief,
    split_clause,
    starts_with_action,
)
from bot.agents.drafting import (
    ActionPlanDraft,
    DraftRequest,
    PlannedTask,
    PrdDraft,
    Requirement,
    SpecDraft,
    TaskListDraft,
    TaskPlan,
)
from bot.agents.paths import is_safe_relative_path, slugify, unique_slug
from bot.sop.briefs import requester_words
from bot.sop.records import TaskRecord
from bot.sop.triggers import detect_triggers

MIN_TASKS, MAX_TASKS = 2, 5
MAX_GOALS = 8

TRIGGER_NOTES: dict[str, str] = {
    "migration": "schema or data changes must be reversible and rehearsed on realistic data",
    "security": "authentication, authorisation, secrets or personal data are involved",
    "cross_service": "more than one service or repository must change in step",
    "new_dependency": "a new third-party dependency needs vetting (licence, maintenance, size)",
    "novel_pattern": "the change introduces a pattern the codebase does not have yet",
}


def _statements(req: DraftRequest) -> tuple[list[str], list[str]]:
    # Goals, requirements and tasks come from the requester's own words; a quoted thread is shown
    # in the PRD's problem section as a quote and nowhere else (bot.sop.briefs).
    items = split_brief(requester_words(req.brief))
    statements = items.statements or [req.title]
    return statements[:MAX_GOALS], items.questions


def _evidence(req: DraftRequest) -> dict[str, str]:
    found = detect_triggers(req.brief, *(req.approved[k] for k in sorted(req.approved)))
    return {t.name: t.evidence for t in found}


def build_prd(req: DraftRequest) -> PrdDraft:
    statements, questions = _statements(req)
    requirements = [
        Requirement(id=f"R{i}", when="the change for this goal is in place", shall=_shall(s))
        for i, s in enumerate(statements, 1)
    ]
    risks = [
        f"{name.replace('_', ' ').capitalize()}: {TRIGGER_NOTES.get(name, 'flagged by the brief')}."
        for name in req.triggers
    ]
    risks.append("This draft restates the brief; nobody has analysed it yet, so gaps are likely.")
    open_questions = [*questions, "Are the goals above complete, and is anything listed that should not be?"]
    if not req.repo_facts:
        open_questions.append("Which parts of the repository does this goal touch?")
    return PrdDraft(
        title=req.title,
        summary=(
            f"Offline PRD draft for “{req.title}”: {len(statements)} goal(s) and "
            f"{len(requirements)} requirement(s) restated from the brief, "
            f"{len(open_questions)} open question(s)."
        ),
        problem="From the brief:\n\n" + "\n".join(f"> {line}".rstrip() for line in _brief_excerpt(req)),
        goals=[capitalise(s) for s in statements],
        non_goals=["Anything the brief does not ask for; more scope needs a revised PRD or a new goal."],
        user_stories=[
            f"As the requester, I want this: “{s}”, so that the goal “{req.title}” is met."
            for s in statements[:3]
        ],
        requirements=requirements,
        acceptance_criteria=[
            f"{r.id} is shown by an automated test or a recorded manual check." for r in requirements
        ],
        risks=risks,
        open_questions=open_questions,
    )


def _shall(statement: str) -> str:
    """An action statement reads as the response itself; anything else is quoted as the need."""
    if starts_with_action(statement):
        return lower_first(statement)
    return f"satisfy this need from the brief: “{statement}”"


def _brief_excerpt(req: DraftRequest, limit: int = 1500) -> list[str]:
    text = req.brief.strip() or req.title
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " …"
    return text.splitlines()


def _task_clauses(req: DraftRequest) -> list[str]:
    statements, _ = _statements(req)
    clauses = list(statements)
    if len(clauses) < MIN_TASKS:
        clauses = [part for s in clauses for part in split_clause(s)]
    if len(clauses) > MAX_TASKS:
        # The rest is folded into the last task rather than dropped.
        clauses = [*clauses[: MAX_TASKS - 1], "; ".join(clauses[MAX_TASKS - 1 :])]
    if len(clauses) < MIN_TASKS:
        clauses.append(f"verify and document {lower_first(req.title)} end to end")
    return clauses


def derive_tasks(req: DraftRequest) -> list[PlannedTask]:
    """2–5 tasks, each depending on the one before, with safe generated file paths."""
    clauses = _task_clauses(req)
    taken: set[str] = set()
    tasks: list[PlannedTask] = []
    for i, clause in enumerate(clauses, 1):
        slug = unique_slug(slugify(clause), taken)
        module, test = f"src/{slug}.py", f"tests/test_{slug}.py"
        tasks.append(
            PlannedTask(
                id=i,
                title=short_title(clause),
                description=f"{capitalise(clause)}.",
                priority="high" if i == 1 else ("low" if i == len(clauses) and i > 2 else "medium"),
                dependencies=[i - 1] if i > 1 else [],
                files=[module, test],
                acceptance_criteria=[
                    f"{capitalise(clause)}: the behaviour is implemented in {module}.",
                    f"{test} checks it, and the existing test suite still passes.",
                ],
                test_strategy=f"pytest {test}: one test per acceptance criterion; then the full suite.",
            )
        )
    return tasks


def build_task_list(req: DraftRequest) -> TaskListDraft:
    tasks = derive_tasks(req)
    return TaskListDraft(
        title=req.title,
        summary=(
            f"Offline task list for “{req.title}”: {len(tasks)} tasks derived from the brief, "
            "each building on the one before."
        ),
        overview=(
            f"{len(tasks)} tasks, split from the brief's statements in the order they were written. "
            "Each task depends on the previous one, so every diff builds on an approved change; "
            "file paths are proposals to adjust in review."
        ),
        tasks=tasks,
        open_questions=["Should any of these tasks be split further or run in parallel?"],
    )


def tasks_for(req: DraftRequest) -> list[TaskRecord]:
    """The approved task list, or (when there is none) the one derived from the brief."""
    return list(req.tasks) or [t.to_record() for t in derive_tasks(req)]


def build_spec(req: DraftRequest) -> SpecDraft:
    tasks = tasks_for(req)
    evidence = _evidence(req)
    names = list(req.triggers) or list(evidence)
    triggers = [
        f"**{n}**: {TRIGGER_NOTES.get(n, 'flagged')}"
        + (f" (evidence: “{evidence[n]}”)" if n in evidence else "")
        for n in names
    ]
    design = "\n".join(
        f"- Task {t.id}, {t.title}: " + (", ".join(f"`{f}`" for f in _safe(t.files)) or "files to be decided")
        for t in tasks
    )
    context = f"Goal “{req.title}” with {len(tasks)} approved task(s)."
    if req.repo_facts:
        context += "\n\nRepository facts:\n\n" + req.repo_facts.strip()
    return SpecDraft(
        title=req.title,
        summary=f"Offline mini-spec for “{req.title}”, covering {len(names)} trigger(s): {', '.join(names) or 'none'}.",
        context=context,
        triggers=triggers,
        design="The offline drafter proposes one module per task, as listed:\n\n" + design,
        data_and_migrations=(
            "A schema or data change is expected: write the migration reversibly (upgrade and downgrade), "
            "rehearse it on a copy of realistic data, and backfill in batches."
            if "migration" in names
            else "No schema or data change is expected from the brief."
        ),
        security=(
            "Security-sensitive: check who may call each new entry point, keep secrets out of code, logs "
            "and Slack messages, and cover the refusal paths with tests."
            if "security" in names
            else "No authentication, secret or personal-data change is expected."
        ),
        rollout_and_rollback=(
            "Land task by task behind the approval gate; each task is its own commit and can be reverted "
            "alone. Roll out to one channel first when the change is user-visible."
        ),
        test_plan=[f"Task {t.id}: {t.testStrategy or 'tests to be written with the task'}" for t in tasks],
    )


def _safe(files: list[str]) -> list[str]:
    return [f for f in files if is_safe_relative_path(f)]


def _ordered(tasks: list[TaskRecord]) -> list[TaskRecord]:
    """Dependency order, ties broken by position; tasks on a cycle keep their place at the end."""
    done: set[str] = set()
    ordered: list[TaskRecord] = []
    pending = list(tasks)
    while pending:
        ready = [t for t in pending if all(str(d) in done for d in t.dependencies)]
        if not ready:
            ordered += pending
            break
        for t in ready:
            done.add(str(t.id))
            ordered.append(t)
        pending = [t for t in pending if str(t.id) not in done]
    return ordered


def _test_command(files: list[str]) -> str:
    tests = [f for f in _safe(files) if f.rsplit("/", 1)[-1].startswith("test_")]
    return "python -m pytest -q " + " ".join(tests) if tests else "python -m pytest -q"


def build_action_plan(req: DraftRequest) -> ActionPlanDraft:
    tasks = _ordered(tasks_for(req))
    goal = slugify(req.goal_id, max_words=3, fallback="goal").replace("_", "-")
    plans = [
        TaskPlan(
            task_id=int(t.id),
            title=t.title,
            branch=f"orch/{goal}/task-{t.id}",
            steps=[
                "Start from the goal branch with every earlier task merged.",
                "Write the tests for the acceptance criteria first: "
                + ("; ".join(c.rstrip(". ") for c in t.acceptance_criteria) or "as agreed in the task list")
                + ".",
                "Change " + (", ".join(f"`{f}`" for f in _safe(t.files)) or "the files the task names") + ".",
                f"Run `{_test_command(t.files)}` until it passes, then the full suite.",
                "Post the diff for approval; merge only after it is approved.",
            ],
            files=_safe(t.files),
            test_command=_test_command(t.files),
        )
        for t in tasks
    ]
    return ActionPlanDraft(
        title=req.title,
        summary=f"Offline action plan for “{req.title}”: {len(plans)} task(s) in dependency order, one reviewed diff each.",
        overview="Tasks run one at a time in dependency order; each ends in a diff that a person approves.",
        worktree=f"One worktree for the goal, based on branch `orch/{goal}`; each task gets its own branch.",
        task_plans=plans,
        test_commands=list(dict.fromkeys([*(p.test_command for p in plans), "python -m pytest -q"])),
        review_checklist=[
            "The diff touches only the files the task declares, or explains why not.",
            "Every acceptance criterion has a test, and the tests pass.",
            "No secrets, credentials or personal data in code, logs or messages.",
            "Names, comments and docs explain the why.",
        ],
        rollback=(
            "Each task lands as one commit on the goal branch: revert that commit to back it out. "
            "Before the goal merges, dropping the goal branch and its worktree undoes everything."
        ),
    )
