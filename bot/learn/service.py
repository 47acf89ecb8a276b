"""Use cases of `orch learn` and `/orch learn`: propose a harvest, approve it, discard it.

A learn proposal is not a goal: it has no PRD or task list to gate, only a diff. So it gets the
smallest honest approval of its own: a branch holding the harvest, approved by an approver other
than the proposer (the same separation of duties as the gates), merged with a trailer, and every
step in the audit log. The Slack handler and the CLI call these same methods.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot.learn.asset_index import INDEX_PATH, iso_z, last_uses, load_index
from bot.learn.files import Harvest
from bot.learn.harvest import harvest as run_harvest
from bot.learn.proposal import (
    Proposal,
    ProposalError,
    create_proposal,
    discard_proposal,
    load_proposal,
    merge_proposal,
    merged_commit,
    open_proposals,
)
from bot.learn.source import SourceError, open_source
from bot.repo.errors import GitError, MergeConflictError
from bot.repo.git import Git, Identity, ensure_repo
from bot.services.authority import ApproverDirectory
from bot.services.errors import InvalidInput
from bot.services.unit import Actor, Clock, audit, system_clock
from bot.sop import gates
from storage.audit import iter_entries
from storage.db import read_session, transaction

if TYPE_CHECKING:
    from bot.deps import Deps as Container


@dataclass(frozen=True)
class LearnOutcome:
    proposal: Proposal | None  # None: the target already has everything the harvest found
    harvest: Harvest


@dataclass
class LearnService:
    engine: Engine
    directory: ApproverDirectory
    repo: Path
    clock: Clock = system_clock
    identity: Identity = field(default_factory=Identity)
    allow_self_approval: bool = False
    summarizer: Any = None  # bot.learn.summarise.AgentsSummarizer, or None offline

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        engine: Engine,
        *,
        clock: Clock = system_clock,
        directory: ApproverDirectory | None = None,
    ) -> LearnService:
        from bot.learn.summarise import make_summarizer

        return cls(
            engine=engine,
            directory=directory or ApproverDirectory(users=frozenset(settings.approvers)),
            repo=Path(settings.repo),
            clock=clock,
            identity=Identity(name=settings.git_name, email=settings.git_email),
            allow_self_approval=settings.allow_self_approval,
            summarizer=make_summarizer(settings),
        )

    @classmethod
    def from_container(cls, c: Container) -> LearnService:
        return cls.from_settings(c.settings, c.engine, clock=c.clock, directory=c.directory)

    def git(self) -> Git:
        return ensure_repo(self.repo, init_if_missing=True, identity=self.identity)

    def _audit(self, actor: Actor, action: str, **payload: Any) -> None:
        with transaction(self.engine) as session:
            audit(session, actor=actor, action=action, now=self.clock(), **payload)

    # -- use cases ---------------------------------------------------------------------------

    def propose(self, *, source: str, actor: Actor) -> LearnOutcome:
        """Harvest `source` and commit the result on a proposal branch of the target repository."""
        try:
            with open_source(source) as src:
                harvested = run_harvest(src.root, source=src.label)
        except SourceError as exc:
            raise InvalidInput(str(exc)) from exc
        if self.summarizer is not None and harvested.assets:
            harvested.add(asyncio.run(self.summarizer.summarise(harvested)))
        if not harvested.assets:
            raise InvalidInput(
                f"Found no conventions to learn in {harvested.source}: no linter, formatter, "
                "editorconfig, pre-commit, CI or test configuration."
            )
        git = self.git()
        with read_session(self.engine) as session:
            proc = git.run_full("show", f"{git.main_branch}:{INDEX_PATH}", ok_codes=(0, 128))
            uses = last_uses(iter_entries(session), load_index(proc.stdout if proc.returncode == 0 else None))
        proposal = create_proposal(
            git,
            harvested.assets,
            source=harvested.source,
            proposed_by=actor.id,
            at=self.clock(),
            last_used=uses,
        )
        if proposal is not None and not proposal.existing:
            self._audit(
                actor,
                "learn.proposed",
                proposal=proposal.id,
                source=proposal.source,
                files=proposal.files,
                notes=harvested.notes,
            )
        return LearnOutcome(proposal, harvested)

    def show(self, *, proposal_id: str) -> Proposal:
        try:
            return load_proposal(self.git(), proposal_id)
        except ProposalError as exc:
            raise InvalidInput(str(exc)) from exc

    def pending(self) -> list[Proposal]:
        git = self.git()
        return [load_proposal(git, pid) for pid in open_proposals(git)]

    def approve(self, *, proposal_id: str, actor: Actor) -> str:
        """Merge the proposal into the main branch; return the merge commit."""
        git = self.git()
        try:
            if (done := merged_commit(git, proposal_id)) is not None:
                return done
            proposal = load_proposal(git, proposal_id)
        except ProposalError as exc:
            raise InvalidInput(str(exc)) from exc
        refused = gates.adopt_learning(
            proposal.id,
            proposed_by=proposal.proposed_by,
            actor=actor.id,
            is_approver=self.directory.is_approver(actor.id),
            allow_self_approval=self.allow_self_approval,
        )
        if refused is not None:
            self._refuse(actor, proposal.id, refused.reason.value)
            raise InvalidInput(refused.message)
        try:
            sha = merge_proposal(git, proposal, approved_by=actor.id)
        except MergeConflictError as exc:
            raise InvalidInput(
                f"{proposal.id} no longer merges cleanly ({', '.join(exc.files[:5])}); "
                "discard it and learn again."
            ) from exc
        except GitError as exc:
            raise InvalidInput(f"{proposal.id} could not be merged: {exc}") from exc
        self._audit(
            actor,
            "learn.approved",
            proposal=proposal.id,
            source=proposal.source,
            files=proposal.files,
            commit=sha,
        )
        return sha

    def discard(self, *, proposal_id: str, actor: Actor) -> None:
        git = self.git()
        try:
            proposal = load_proposal(git, proposal_id)
        except ProposalError as exc:
            raise InvalidInput(str(exc)) from exc
        refused = gates.discard_learning(
            proposal.id,
            proposed_by=proposal.proposed_by,
            actor=actor.id,
            is_approver=actor.id != proposal.proposed_by and self.directory.is_approver(actor.id),
        )
        if refused is not None:
            self._refuse(actor, proposal.id, refused.reason.value)
            raise InvalidInput(refused.message)
        discard_proposal(git, proposal.id)
        self._audit(actor, "learn.discarded", proposal=proposal.id, source=proposal.source)

    def _refuse(self, actor: Actor, proposal_id: str, reason: str) -> None:
        self._audit(actor, "learn.refused", proposal=proposal_id, reason=reason)

    def assets(self) -> list[dict[str, Any]]:
        """The adopted assets (main's index) with their last use brought up to date from the audit log."""
        git = self.git()
        proc = git.run_full("show", f"{git.main_branch}:{INDEX_PATH}", ok_codes=(0, 128))
        index = load_index(proc.stdout if proc.returncode == 0 else None)
        with read_session(self.engine) as session:
            uses = last_uses(iter_entries(session), index)
        rows = []
        for entry in index["assets"]:
            used = uses.get(entry["path"])
            rows.append({**entry, "last_used": iso_z(used) if used else entry.get("last_used")})
        return rows
