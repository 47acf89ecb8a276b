"""The drafting contract: what a drafter is asked for, what it returns, and each phase's shape.

The per-phase output types double as the Agents SDK `output_type`, so they are strict-schema
friendly: closed objects (`extra="forbid"`), plain lists and strings, no open dictionaries. The
task list therefore carries `PlannedTask`s (the fields a drafter decides) and converts them to
Task Master `TaskRecord`s for the state of record. Every type renders itself into the phase
template's sections with `to_markdown()`.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.agents.paths import check_relative_path
from bot.agents.templates import fill_template, load_template
from bot.sop.phases import Phase
from bot.sop.records import TaskRecord

OFFLINE_LABEL = (
    "> Offline draft: written by the built-in template drafter, not a model. Review it as a starting point."
)
NONE = "_None._"


class DraftRequest(BaseModel):
    """Everything a drafter may use. `brief` includes the Slack thread text when there is one."""

    goal_id: str
    title: str
    brief: str
    phase: Phase
    previous: str | None = None
    feedback: str | None = None
    approved: dict[str, str] = Field(default_factory=dict, description="phase value → approved markdown")
    tasks: list[TaskRecord] = Field(default_factory=list, description="approved task list")
    triggers: list[str] = Field(default_factory=list)
    repo_facts: str | None = None
    repo_guidance: str | None = None  # the target's AGENTS.md and convention pages (bot.learn.guidance)
    template: str


class Draft(BaseModel):
    markdown: str
    summary: str = Field(description="one or two sentences for Slack")
    tasks: list[TaskRecord] | None = None
    drafted_by: str
    offline: bool
    # The model's token usage for this draft (input, cached input, output), when a model drafted it.
    usage: dict[str, int] | None = None


class DraftError(RuntimeError):
    """A drafter could not produce a usable draft; the message is fit for the goal's thread."""


class Drafter(Protocol):
    async def draft(self, req: DraftRequest) -> Draft: ...


# ---- Rendering helpers -------------------------------------------------------------------------


def one_line(text: str) -> str:
    """Collapse whitespace, so a list item can never start a heading or a new block."""
    return " ".join(text.split())


def bullets(items: list[str], *, checkbox: bool = False) -> str:
    mark = "- [ ] " if checkbox else "- "
    lines = [mark + one_line(i) for i in items if one_line(i)]
    return "\n".join(lines) if lines else NONE


_TOP_HEADING = re.compile(r"^#{1,2}(?=\s)", re.MULTILINE)


def prose(text: str) -> str:
    """Free text; its `#`/`##` headings become `###` so it cannot open a section of its own."""
    return _TOP_HEADING.sub("###", text.strip()) or NONE


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|") or "—"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def code_list(items: list[str]) -> str:
    return ", ".join(f"`{one_line(i)}`" for i in items) if items else NONE


# ---- Output types ------------------------------------------------------------------------------


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    heading: str
    body: str


class _DraftBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    PHASE: ClassVar[Phase]

    title: str = Field(description="the goal's title, short")
    summary: str = Field(description="one or two sentences for the Slack message")
    change_notes: list[str] = Field(
        default_factory=list,
        description="for a revision: what changed in answer to the feedback; empty for a first draft",
    )
    extra_sections: list[Section] = Field(
        default_factory=list, description="content for template headings not covered by the fields"
    )

    def sections(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def to_markdown(self, template: str | None = None, *, goal_id: str = "") -> str:
        """The artifact in the template's sections (the built-in template when none is given)."""
        tpl = template if template is not None else load_template(self.PHASE)
        extra = [(one_line(s.heading), prose(s.body)) for s in self.extra_sections]
        return fill_template(tpl, title=self.title, goal_id=goal_id, sections=self.sections() + extra)


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="R1, R2, …")
    when: str = Field(description="the trigger or condition, without the word WHEN")
    shall: str = Field(description="the response, without THE SYSTEM SHALL")

    def ears(self) -> str:
        when = _strip_prefix(one_line(self.when), "when").rstrip(",.")
        shall = _strip_prefix(one_line(self.shall), "the system shall").rstrip(".")
        return f"**{one_line(self.id)}** WHEN {when}, THE SYSTEM SHALL {shall}."


def _strip_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :].lstrip(" ,:") if text.lower().startswith(prefix + " ") else text


class PrdDraft(_DraftBase):
    PHASE: ClassVar[Phase] = Phase.PRD

    problem: str
    goals: list[str]
    non_goals: list[str]
    user_stories: list[str] = Field(description='"As a <role>, I want <capability> so that <benefit>."')
    requirements: list[Requirement]
    acceptance_criteria: list[str]
    risks: list[str]
    open_questions: list[str]

    def sections(self) -> list[tuple[str, str]]:
        reqs = "\n".join(f"- {r.ears()}" for r in self.requirements) or NONE
        return [
            ("Problem", prose(self.problem)),
            ("Goals", bullets(self.goals)),
            ("Non-goals", bullets(self.non_goals)),
            ("Users & stories", bullets(self.user_stories)),
            ("Requirements", reqs),
            ("Acceptance criteria", bullets(self.acceptance_criteria, checkbox=True)),
            ("Risks", bullets(self.risks)),
            ("Open questions", bullets(self.open_questions)),
        ]


class PlannedTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="1, 2, 3… unique within the list")
    title: str
    description: str
    priority: Literal["high", "medium", "low"]
    dependencies: list[int] = Field(description="ids of tasks that must be done first")
    files: list[str] = Field(description="relative paths the task will create or touch")
    acceptance_criteria: list[str]
    test_strategy: str
    details: str = ""

    @field_validator("files")
    @classmethod
    def _safe_files(cls, files: list[str]) -> list[str]:
        return [check_relative_path(f) for f in files]

    def to_record(self) -> TaskRecord:
        return TaskRecord(
            id=self.id,
            title=one_line(self.title),
            description=self.description.strip(),
            status="pending",
            dependencies=list(self.dependencies),
            priority=self.priority,
            details=self.details.strip(),
            testStrategy=self.test_strategy.strip(),
            files=list(self.files),
            acceptance_criteria=[one_line(c) for c in self.acceptance_criteria],
        )


def task_graph_problems(tasks: list[PlannedTask] | list[TaskRecord]) -> list[str]:
    """What is wrong with the ids and dependencies: duplicates, dangling references, cycles."""
    problems: list[str] = []
    ids = [str(t.id) for t in tasks]
    if len(set(ids)) != len(ids):
        problems.append("task ids are not unique")
    known = set(ids)
    deps = {str(t.id): [str(d) for d in t.dependencies] for t in tasks}
    for tid, ds in deps.items():
        problems += [f"task {tid} depends on unknown task {d}" for d in ds if d not in known]
        if tid in ds:
            problems.append(f"task {tid} depends on itself")
    # Kahn's algorithm: whatever cannot be ordered sits on a cycle.
    remaining = {tid: {d for d in ds if d in known and d != tid} for tid, ds in deps.items()}
    while ready := [tid for tid, waiting in remaining.items() if not waiting]:
        for tid in ready:
            del remaining[tid]
        for waiting in remaining.values():
            waiting.difference_update(ready)
    if remaining:
        problems.append("dependency cycle among tasks " + ", ".join(sorted(remaining)))
    return problems


class TaskListDraft(_DraftBase):
    PHASE: ClassVar[Phase] = Phase.TASK_LIST

    overview: str
    tasks: list[PlannedTask] = Field(description="2 to 8 tasks; dependencies reference earlier ids")
    open_questions: list[str]

    @model_validator(mode="after")
    def _graph_is_sound(self) -> TaskListDraft:
        if not self.tasks:
            raise ValueError("a task list needs at least one task")
        problems = task_graph_problems(self.tasks)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def records(self) -> list[TaskRecord]:
        return [t.to_record() for t in self.tasks]

    def sections(self) -> list[tuple[str, str]]:
        rows = [
            [str(t.id), t.title, t.priority, ", ".join(map(str, t.dependencies)) or "—", ", ".join(t.files)]
            for t in self.tasks
        ]
        details = "\n\n".join(_task_details(t) for t in self.tasks)
        return [
            ("Overview", prose(self.overview)),
            ("Tasks", table(["ID", "Title", "Priority", "Depends on", "Files"], rows)),
            ("Task details", details),
            ("Open questions", bullets(self.open_questions)),
        ]


def _task_details(t: PlannedTask) -> str:
    return "\n".join(
        [
            f"### {t.id}. {one_line(t.title)}",
            "",
            prose(t.description),
            "",
            f"- **Priority:** {t.priority}",
            f"- **Depends on:** {', '.join(map(str, t.dependencies)) or 'nothing'}",
            f"- **Files:** {code_list(t.files)}",
            f"- **Test strategy:** {one_line(t.test_strategy) or NONE}",
            *([f"- **Details:** {one_line(t.details)}"] if t.details.strip() else []),
            "",
            "Acceptance criteria:",
            "",
            bullets(t.acceptance_criteria, checkbox=True),
        ]
    )


class SpecDraft(_DraftBase):
    PHASE: ClassVar[Phase] = Phase.SPEC

    context: str
    triggers: list[str] = Field(description="each trigger that fired, with its evidence")
    design: str
    data_and_migrations: str
    security: str
    rollout_and_rollback: str
    test_plan: list[str]

    def sections(self) -> list[tuple[str, str]]:
        return [
            ("Context", prose(self.context)),
            ("Triggers", bullets(self.triggers)),
            ("Design", prose(self.design)),
            ("Data and migrations", prose(self.data_and_migrations)),
            ("Security", prose(self.security)),
            ("Rollout and rollback", prose(self.rollout_and_rollback)),
            ("Test plan", bullets(self.test_plan)),
        ]


class TaskPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: int
    title: str
    branch: str
    steps: list[str] = Field(description="ordered, each small enough to review")
    files: list[str]
    test_command: str


class ActionPlanDraft(_DraftBase):
    PHASE: ClassVar[Phase] = Phase.ACTION_PLAN

    overview: str
    worktree: str = Field(description="the goal's worktree and base branch")
    task_plans: list[TaskPlan] = Field(description="one per task, in dependency order")
    test_commands: list[str]
    review_checklist: list[str]
    rollback: str

    def sections(self) -> list[tuple[str, str]]:
        branches = table(
            ["Task", "Title", "Branch"],
            [[str(p.task_id), p.title, f"`{one_line(p.branch)}`"] for p in self.task_plans],
        )
        steps = "\n\n".join(_plan_steps(p) for p in self.task_plans) or NONE
        return [
            ("Overview", prose(self.overview)),
            ("Worktree and branches", prose(self.worktree) + "\n\n" + branches),
            ("Steps", steps),
            ("Test commands", "\n".join(f"- `{one_line(c)}`" for c in self.test_commands) or NONE),
            ("Review checklist", bullets(self.review_checklist, checkbox=True)),
            ("Rollback", prose(self.rollback)),
        ]


def _plan_steps(p: TaskPlan) -> str:
    numbered = "\n".join(f"{i}. {one_line(s)}" for i, s in enumerate(p.steps, 1)) or NONE
    return "\n".join(
        [
            f"### Task {p.task_id}: {one_line(p.title)}",
            "",
            numbered,
            "",
            f"- **Files:** {code_list(p.files)}",
            f"- **Test command:** `{one_line(p.test_command)}`",
        ]
    )


OUTPUT_TYPES: dict[Phase, type[_DraftBase]] = {
    Phase.PRD: PrdDraft,
    Phase.TASK_LIST: TaskListDraft,
    Phase.SPEC: SpecDraft,
    Phase.ACTION_PLAN: ActionPlanDraft,
}


def output_type(phase: Phase) -> type[_DraftBase]:
    try:
        return OUTPUT_TYPES[phase]
    except KeyError:
        raise ValueError(f"phase {phase.value!r} is not drafted") from None
