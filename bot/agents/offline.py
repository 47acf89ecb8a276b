"""The offline drafter: fills the phase templates from the brief, without a model.

It exists so the bot works (and demos) with no model at all, and it says so on the first line of
every artifact. It is deterministic: the same request gives byte-identical Markdown, because an
approval is bound to the artifact's sha256 and a re-run must not invalidate it by accident.
On "Request changes" it records the feedback in a numbered "Changes in this version" section,
applies what a template can (split, remove or rename a task, add an acceptance criterion, rename
quoted words: bot/agents/_offline_feedback.py), says plainly what it could not apply, and carries
the rest of the previous version over; the revision number guarantees the new version differs.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.agents import _offline_feedback as feedback_rules
from bot.agents import _offline_phases as phases
from bot.agents import revisions
from bot.agents.drafting import Draft, DraftRequest, TaskListDraft, _DraftBase
from bot.sop.phases import LABELS, Phase
from bot.sop.records import TaskRecord

OFFLINE_NAME = "offline"

_BUILDERS: dict[Phase, Callable[[DraftRequest], _DraftBase]] = {
    Phase.PRD: phases.build_prd,
    Phase.TASK_LIST: phases.build_task_list,
    Phase.SPEC: phases.build_spec,
    Phase.ACTION_PLAN: phases.build_action_plan,
}

REVISION_NOTE = (
    "The offline drafter does not rewrite prose from feedback: the previous version is carried "
    "over below unchanged and this request is recorded, so a reviewer or a model-backed drafter "
    "can apply it."
)
APPLIED_NOTE = "The offline drafter applied:"
NOT_APPLIED_NOTE = (
    "Not applied — the offline drafter cannot do this from a template; a person or a model-backed "
    "drafter must:"
)


class OfflineDrafter:
    """A `Drafter` that needs no model; `draft_sync` is the same work without the event loop."""

    name = OFFLINE_NAME

    async def draft(self, req: DraftRequest) -> Draft:
        return self.draft_sync(req)

    def draft_sync(self, req: DraftRequest) -> Draft:
        try:
            build = _BUILDERS[req.phase]
        except KeyError:
            raise ValueError(f"phase {req.phase.value!r} is not drafted") from None
        content = build(req)
        tasks = content.records() if isinstance(content, TaskListDraft) else None
        if req.previous is not None and req.feedback is not None:
            return self._revise(req, req.previous, req.feedback, tasks)
        markdown = content.to_markdown(req.template, goal_id=req.goal_id)
        return Draft(
            markdown=revisions.with_label(markdown),
            summary=content.summary,
            tasks=tasks,
            drafted_by=OFFLINE_NAME,
            offline=True,
        )

    def _revise(
        self, req: DraftRequest, previous: str, feedback: str, tasks: list[TaskRecord] | None
    ) -> Draft:
        revision = revisions.next_revision(previous)
        carried = revisions.demote_changes(revisions.strip_label(previous))
        if req.phase is Phase.TASK_LIST:
            # The caller passed the previous version's records; they are what the carried-over
            # Markdown describes, so build on them rather than re-deriving from the brief.
            before = list(req.tasks) or list(tasks or [])
            tasks, outcome = feedback_rules.apply_to_tasks(before, feedback)
            if outcome.applied:
                fresh = phases.build_task_list(req)
                for heading, body in feedback_rules.render_tasks(
                    tasks, fresh.overview, fresh.open_questions
                ).items():
                    carried = feedback_rules.replace_section(carried, heading, body)
            else:
                tasks = before
        else:
            carried, outcome = feedback_rules.apply_to_document(req.phase, carried, feedback)
        section = revisions.changes_section(feedback, revision, [] if outcome.applied else [REVISION_NOTE])
        for title, items in ((APPLIED_NOTE, outcome.applied), (NOT_APPLIED_NOTE, outcome.not_applied)):
            if items:
                section += f"\n\n{title}\n\n" + "\n".join(f"- {revisions.one_line(i)}" for i in items)
        markdown = revisions.with_label(revisions.insert_after_title(carried, section))
        if outcome.applied:
            summary = (
                f"Offline revision {revision} of the {LABELS[req.phase]}: applied "
                f"{len(outcome.applied)} requested change(s)"
                + (
                    f"; {len(outcome.not_applied)} not applied (listed at the top)"
                    if outcome.not_applied
                    else ""
                )
                + "."
            )
        else:
            summary = (
                f"Offline revision {revision} of the {LABELS[req.phase]}: the feedback is quoted at the "
                "top; the offline drafter could apply none of it, so the previous content is carried "
                "over unchanged."
            )
        return Draft(
            markdown=revisions.tidy(markdown),
            summary=summary,
            tasks=tasks,
            drafted_by=OFFLINE_NAME,
            offline=True,
        )
