"""Delivery as outbox effects: the goal's commits go to its own clone and branch, and `repo.deliver`
pushes them and brings the pull request in line with the goal.

`repo.deliver` is a reconciliation, so running it twice (a crash, a retry, two in a row) changes
nothing the second time: push (a no-op when the remote has the commits), open the draft pull request
once the branch is ahead of base, rewrite its body when the artifacts changed, set `orch/gates` on the
head, and when the goal is done mark it ready and merge it; when rejected or cancelled, close it.
Each `repo.*` effect of a goal is followed by one `repo.deliver` keyed by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock
from filelock import Timeout as FileLockTimeout

from bot.effects.dispatcher import EffectDispatcher, Handler, RetryLater
from bot.effects.port import Work, payload_of
from bot.forge.body import ArtifactRow, ci_text, pr_body, pr_title
from bot.forge.ci import show_ci
from bot.forge.clones import PushRejected, goal_branch
from bot.forge.handover import drop_merged_leftovers, hold_approved_diff
from bot.forge.outcome import Outcome, Stale, retry_offered, thread_notes
from bot.forge.port import ForgeError, MergeRefused, StatusState
from bot.forge.targets import Target, build_targets
from bot.redact import redact
from bot.services.unit import Actor, Clock, add_effect, audit
from bot.sop.effect_kinds import Deliver, Merge, ThreadNote, UpdateCard
from bot.sop.phases import CANONICAL_FILES, LABELS, GoalState, Phase
from bot.sop.publish import canonical_path, sha256_text
from storage.db import read_session, transaction
from storage.locks import REPOSITORIES, LockTimeout, hold, key_of
from storage.models import Effect, Goal, PullRequestLink
from storage.repositories import Approvals, Artifacts, Effects, PullRequests

log = logging.getLogger(__name__)
W = TypeVar("W", bound=Work)  # an effect, or the job of a draft or build

GATES_CONTEXT = "orch/gates"
WRITE_LOCK_SECONDS = 10.0  # a delivery waits this long for another to the same repository, then retries later
# The effects whose work happens in the goal's clone; the repo.* ones are followed by a delivery.
GOAL_SCOPED = (
    "draft",
    "build",
    "repo.publish_artifact",
    "repo.publish_state",
    "repo.apply_scaffold",
    "repo.merge",
    "repo.remove_worktree",
)


@dataclass
class DeliveryEffects:
    engine: Any
    clock: Clock
    targets: dict[str | None, Target]  # by repository name (None: the deployment's ORCH_REPO)
    merge_method: Any = "merge"
    slack: Any = None  # AsyncWebClient, for the thread's permalink
    _dispatcher: EffectDispatcher | None = field(default=None, repr=False)
    _repo_of: dict[str, str | None] = field(default_factory=dict, repr=False)

    def target(self, goal_id: str) -> Target:
        """The goal's repository (a goal's repository never changes, so it is read once)."""
        if goal_id not in self._repo_of:
            with read_session(self.engine) as session:
                goal = session.get(Goal, goal_id)
                self._repo_of[goal_id] = goal.repo if goal else None
        name = self._repo_of[goal_id]
        found = self.targets.get(name)
        if found is None:
            raise ForgeError(f"{goal_id} targets the repository {name!r}, which is no longer configured")
        return found

    # -- wiring --------------------------------------------------------------------------------

    def wrap(
        self, handlers: Mapping[str, Handler], work: Any, dispatcher: EffectDispatcher
    ) -> dict[str, Handler]:
        """`handlers` with the goal's work run in its clone and every repo effect followed by a
        delivery, plus `repo.deliver` itself (the composition root's table is built from it)."""
        self._dispatcher = dispatcher
        wrapped = dict(handlers)
        for kind in GOAL_SCOPED:
            original = wrapped.get(kind)
            if original is not None:
                wrapped[kind] = self._in_goal_clone(kind, work, original)
        wrapped[Deliver.KIND] = self.deliver
        return wrapped

    def wrap_build(self, original: Callable[[W], Awaitable[None]]) -> Callable[[W], Awaitable[None]]:
        """A `build` handler that opens the goal's clone itself (the implementation manager's),
        started like the delivery's own: from what the remote has, and with nothing in the worktree
        that another replica already merged."""

        async def build(effect: W) -> None:
            if effect.goal_id is not None:
                target = await asyncio.to_thread(self.target, effect.goal_id)
                if target.delivered and target.clones is not None:
                    root = await asyncio.to_thread(target.clones.goal_clone, effect.goal_id)
                    await asyncio.to_thread(target.clones.sync, effect.goal_id)
                    await asyncio.to_thread(self._drop_leftovers, effect.goal_id, root)
            await original(effect)

        return build

    def _in_goal_clone(
        self, kind: str, work: Any, original: Callable[[W], Awaitable[None]]
    ) -> Callable[[W], Awaitable[None]]:
        name = getattr(original, "__name__", "")

        async def handler(effect: W) -> None:  # an effect, or the job of a draft or build
            if effect.goal_id is None or not hasattr(work, name):
                await original(effect)
                return
            target = await asyncio.to_thread(self.target, effect.goal_id)
            root = await asyncio.to_thread(target.root, effect.goal_id)
            if root is None:
                await original(effect)
                return
            if target.clones is not None and target.delivered:
                # Work starts from what the remote has (another replica may have pushed since).
                await asyncio.to_thread(target.clones.sync, effect.goal_id)
            # The same handler, given settings whose repository is the goal's clone.
            scoped = dataclasses.replace(work, settings=work.settings.model_copy(update={"repo": root}))
            scoped._dispatcher = self._dispatcher
            if kind == "repo.merge" and target.delivered:
                await asyncio.to_thread(self._bring_build, effect, root)
            if kind == "build" and target.delivered:
                await asyncio.to_thread(self._drop_leftovers, effect.goal_id, root)
            await getattr(scoped, name)(effect)
            if kind.startswith("repo.") and target.delivered:
                # Pushed at once, so the goal's next effect starts from it on whichever replica runs it.
                await asyncio.to_thread(self._push_now, target, effect.goal_id)
                await asyncio.to_thread(self._follow, effect)

        return handler

    @staticmethod
    def _push_now(target: Target, goal_id: str) -> None:
        assert target.clones is not None
        with contextlib.suppress(PushRejected):  # the delivery that follows says so in the thread
            target.clones.push(goal_id)

    def _bring_build(self, effect: Work, root: Path) -> None:
        """Before a merge: the goal's worktree here holds exactly the task's approved diff, whichever
        replica built it (each has its own disk; see bot.forge.handover)."""
        from bot.repo.git import Identity, ensure_repo

        goal_id, task_id = str(effect.goal_id), payload_of(effect, Merge).task_id
        git = ensure_repo(root, identity=Identity())
        if git.find_commit_by_trailer("Orch-Effect", effect.key):
            return
        with read_session(self.engine) as session:
            approved = Approvals(session).approved_shas(goal_id=goal_id)
            versions = Artifacts(session).of_task_newest_first(
                goal_id=goal_id, phase=Phase.IMPLEMENTATION.value, task_id=task_id
            )
        chosen = next((a for a in versions if a.sha256 in approved), None)
        if chosen is None or not chosen.content.strip():
            return
        hold_approved_diff(git, goal_id, chosen.content, chosen.sha256, task_id=task_id)

    @staticmethod
    def _drop_leftovers(goal_id: str, root: Path) -> None:
        """Before a build: an earlier task merged on another replica leaves nothing behind here."""
        from bot.repo.git import Identity, ensure_repo

        drop_merged_leftovers(ensure_repo(root, identity=Identity()), goal_id)

    def _follow(self, effect: Work) -> None:
        with transaction(self.engine) as session:
            add_effect(
                session,
                key=f"deliver:{effect.key}",
                goal_id=effect.goal_id,
                now=self.clock(),
                payload=Deliver(),
            )
        if self._dispatcher is not None:
            self._dispatcher.kick()

    def goal_root(self, goal_id: str) -> Path:
        """Where the goal's drafts, builds and commits happen: its clone, or its local repository."""
        root = self.target(goal_id).root(goal_id)
        return root if root is not None else self.default_root

    default_root: Path = Path(".")

    def poll_ci(self, every: float) -> int:
        """Where no webhook reaches the bot: one delivery per open pull request and period, which
        reads the head's checks into the thread (and merges once the host allows). Returns how many."""
        now = self.clock()
        bucket = int(now.timestamp() // max(every, 1.0))
        with transaction(self.engine) as session:
            links = PullRequests(session).open()
            for link in links:
                add_effect(
                    session,
                    key=f"deliver:poll:{link.goal_id}:{bucket}",
                    goal_id=link.goal_id,
                    now=now,
                    payload=Deliver(),
                )
        if links and self._dispatcher is not None:
            self._dispatcher.kick()
        return len(links)

    # -- the delivery ----------------------------------------------------------------------------

    async def deliver(self, effect: Effect) -> None:
        with read_session(self.engine) as session:
            goal = session.get(Goal, effect.goal_id) if effect.goal_id else None
        if goal is None:
            return
        target = await asyncio.to_thread(self.target, goal.id)
        if not target.delivered or target.clones is None:
            return
        thread_url = await self._thread_url(goal)
        if target.forge is None:
            work = functools.partial(self.push_to_base, target, goal.id)
        else:
            work = functools.partial(self.reconcile, goal.id, thread_url)
        outcome = await asyncio.to_thread(work)
        notes = thread_notes(goal.id, outcome, base=target.clones.base_branch())
        await asyncio.to_thread(self._record, goal, outcome, notes if goal.channel_id else [], target.slug)
        if outcome.ci and goal.channel_id and goal.thread_ts and self.slack is not None:
            await show_ci(self.engine, self.slack, self.clock, goal, outcome.ci)
            if self._dispatcher is not None:
                self._dispatcher.kick()  # the card shows the CI line too

    def _record(self, goal: Goal, outcome: Outcome, notes: list[tuple[str, str]], slug: str) -> None:
        """Remember the pull request (the card links it) and say what happened in the thread."""
        with transaction(self.engine) as session:
            if outcome.number is not None and outcome.url and outcome.state:
                link = session.get(PullRequestLink, goal.id)
                if link is None or (link.number, link.url, link.state) != (
                    outcome.number,
                    outcome.url,
                    outcome.state,
                ):
                    link = link or PullRequestLink(
                        goal_id=goal.id,
                        repo=slug,
                        number=outcome.number,
                        url=outcome.url,
                        updated_at=self.clock(),
                    )
                    link.number, link.url, link.state = outcome.number, outcome.url, outcome.state
                    link.updated_at = self.clock()
                    session.add(link)
                    if goal.channel_id:
                        add_effect(
                            session,
                            key=f"card:{goal.id}:pr:{outcome.number}:{outcome.state}",
                            goal_id=goal.id,
                            now=self.clock(),
                            payload=UpdateCard(),
                        )
            goal_id = goal.id
            for item in outcome.stale:
                key = f"note:{goal_id}:stale:{item.path}:{item.now_sha256[:16]}"
                if not Effects(session).exists(key):
                    audit(
                        session,
                        actor=Actor("system"),
                        action="artifact.stale",
                        now=self.clock(),
                        goal=goal,
                        path=item.path,
                        approved_sha256=item.approved_sha256,
                        branch_sha256=item.now_sha256,
                    )
            for key, text in notes:
                extra = {"retry": True} if retry_offered(key) else {}
                add_effect(
                    session,
                    key=key,
                    goal_id=goal_id,
                    now=self.clock(),
                    payload=ThreadNote(text=redact(text), **extra),
                )
        if self._dispatcher is not None:
            self._dispatcher.kick()

    async def _thread_url(self, goal: Goal) -> str | None:
        if not goal.channel_id or self.slack is None:
            return None
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet (its link goes in the pull request)")
        resp = await self.slack.chat_getPermalink(channel=goal.channel_id, message_ts=goal.thread_ts)
        return str(resp.get("permalink") or "") or None

    @contextlib.contextmanager
    def _writes(self, target: Target) -> Iterator[None]:
        """Hold the repository's write lock: a PostgreSQL advisory lock keyed by the repository
        (replicas share the database and nothing else), or a file lock on SQLite."""
        assert target.clones is not None
        name = target.slug or target.clones.url
        try:
            if self.engine.dialect.name == "postgresql":
                with hold(self.engine, REPOSITORIES, key_of(name), timeout=WRITE_LOCK_SECONDS):
                    yield
                return
            target.clones.root.mkdir(parents=True, exist_ok=True)
            with FileLock(str(target.clones.root / "writes.lock"), timeout=WRITE_LOCK_SECONDS):
                yield
        except (LockTimeout, FileLockTimeout):
            raise RetryLater(f"another delivery to {name} holds its write lock") from None

    def push_to_base(self, target: Target, goal_id: str) -> Outcome:
        """`delivery = "push"`: the goal branch is pushed as it grows, and once the goal is done its
        merged result is pushed to the base branch (a host without an API, or no pull requests)."""
        assert target.clones is not None
        clones = target.clones
        goal, _rows, waiting = self._load(goal_id)
        try:
            clones.push(goal_id)
        except PushRejected as exc:
            return Outcome(push_rejected=exc.branch, remote_head=exc.remote_head)
        if goal.state != GoalState.DONE or waiting:
            return Outcome()
        with self._writes(target):
            return self._push_merged(clones, goal_id)

    def _push_merged(self, clones: Any, goal_id: str) -> Outcome:
        clashing = clones.bring_base_in(goal_id)
        if clashing:
            shown = ", ".join(f"`{name}`" for name in clashing[:10])
            return Outcome(
                refused=f"the goal branch conflicts with `{clones.base_branch()}` in {shown}; resolve it on "
                f"`{goal_branch(goal_id)}` and press Retry merge"
            )
        clones.push(goal_id)
        sha = clones.push_to_base(goal_id)
        if sha is None:  # the base moved between our fetch and our push: the next delivery goes again
            raise RetryLater(f"{clones.base_branch()} moved while {goal_id} was pushed to it")
        return Outcome(merged=sha)

    def reconcile(self, goal_id: str, thread_url: str | None) -> Outcome:
        goal, rows, waiting = self._load(goal_id)
        target = self.target(goal_id)
        assert target.clones is not None and target.forge is not None
        clones, forge, repo = target.clones, target.forge, target.slug
        try:
            clones.push(goal_id)
        except PushRejected as exc:
            stale = self._stale(clones, goal_id, exc.remote_head)
            return Outcome(push_rejected=exc.branch, remote_head=exc.remote_head, stale=stale)
        branch = goal_branch(goal_id)
        stale = self._stale(clones, goal_id, clones.remote_head(goal_id))
        pr = forge.find_pull_request(repo, branch)
        closing = goal.state in (GoalState.REJECTED, GoalState.CANCELLED)
        if pr is None:
            if closing or clones.ahead_of_base(goal_id) == 0:
                return Outcome()  # GitHub refuses a pull request with no commits; the next delivery opens it
            pr = forge.open_pull_request(
                repo,
                head=branch,
                base=clones.base_branch(),
                title=redact(pr_title(goal.id, goal.title)),
                body=self._body(goal, rows, thread_url),
                draft=True,
            )
        # The notes are keyed once per goal, so saying "opened" and "merged" on every delivery is
        # safe, and a crash between the host's change and our note cannot lose the note.
        seen = Outcome(opened=pr.url, number=pr.number, url=pr.url, state=pr.state, stale=stale)
        if pr.merged:
            return dataclasses.replace(seen, state="merged", merged=pr.merge_sha or "")
        finishing = goal.state == GoalState.DONE and pr.state == "open" and not waiting and not stale
        with contextlib.ExitStack() as held:
            if finishing:  # the base branch is written: one writer per repository at a time
                held.enter_context(self._writes(target))
            if finishing:
                # Goals that ran side by side all wrote the files of record: bring the base in first.
                clashing = clones.bring_base_in(goal_id)
                if clashing:
                    shown = ", ".join(f"`{name}`" for name in clashing[:10])
                    return dataclasses.replace(
                        seen,
                        refused=f"the goal branch conflicts with the base branch in {shown}; resolve it on "
                        f"`{branch}` and the bot merges on the next check (or press Retry merge).",
                    )
                clones.push(goal_id)
            head = clones.remote_head(goal_id) or clones.head(goal_id)  # the pull request's head
            seen = dataclasses.replace(
                seen, ci=ci_text(forge.checks_of(repo, head, ignore=GATES_CONTEXT), head)
            )
            state, description = _gates(goal, len(rows), stale)
            if forge.status_of(repo, head, GATES_CONTEXT) != state:
                forge.set_status(
                    repo,
                    head,
                    state=state,
                    context=GATES_CONTEXT,
                    description=description,
                    target_url=thread_url,
                )
            if pr.state == "open":
                body = self._body(goal, rows, thread_url, stale)
                if body != pr.body:
                    pr = forge.update_pull_request(repo, pr.number, body=body)
            if closing and pr.state == "open":
                forge.close(repo, pr.number)
                return dataclasses.replace(seen, closed=True, state="closed")
            if finishing:
                if pr.draft:
                    forge.mark_ready(pr)
                try:
                    sha = forge.merge(repo, pr.number, sha=head, method=self.merge_method)
                except MergeRefused as exc:
                    return dataclasses.replace(seen, refused=exc.message, state="open")
                return dataclasses.replace(seen, merged=sha, state="merged")
            return dataclasses.replace(seen, state=pr.state)

    def _stale(self, clones: Any, goal_id: str, head: str | None) -> tuple[Stale, ...]:
        """The approved documents whose file on the goal branch at `head` is none of the versions the
        bot wrote: someone changed them after approval, so their approvals no longer count."""
        if not head:
            return ()
        with read_session(self.engine) as session:
            artifacts = Artifacts(session).documents(goal_id=goal_id)
            approved = Approvals(session).approved_shas(goal_id=goal_id)
        found = []
        for phase in dict.fromkeys(a.phase for a in artifacts):
            versions = [a for a in artifacts if a.phase == phase]
            ok = [a for a in versions if a.sha256 in approved]
            if not ok or Phase(phase) not in CANONICAL_FILES:
                continue
            path = canonical_path(goal_id, Phase(phase))
            content = clones.file_at(goal_id, head, path)
            if content is None:
                continue
            digest = sha256_text(content)
            if digest in {a.sha256 for a in versions}:
                continue
            last = max(ok, key=lambda a: a.version)
            found.append(Stale(LABELS[Phase(phase)], last.version, path, last.sha256, digest))
        return tuple(found)

    def _body(
        self, goal: Goal, rows: list[ArtifactRow], thread_url: str | None, stale: tuple[Stale, ...] = ()
    ) -> str:
        _, line = _gates(goal, len(rows), stale)
        gone = {s.label for s in stale}
        rows = [dataclasses.replace(r, stale=True) if r.phase in gone else r for r in rows]
        return redact(
            pr_body(goal_id=goal.id, brief=goal.brief, thread_url=thread_url, rows=rows, state_line=line)
        )

    def _load(self, goal_id: str) -> tuple[Goal, list[ArtifactRow], bool]:
        """The goal, its approved artifacts (oldest first), and whether repo work is still pending."""
        with read_session(self.engine) as session:
            goal = session.get(Goal, goal_id)
            assert goal is not None
            artifacts = Artifacts(session).of_goal(goal_id)
            approvals = Approvals(session).approving(goal_id=goal_id)
            waiting = Effects(session).repo_work_pending(goal_id=goal_id)
        rows = []
        for art in artifacts:
            approved = [a for a in approvals if a.artifact_sha256 == art.sha256]
            if not approved:
                continue
            label = LABELS[Phase(art.phase)] + (f" (task {art.task_id})" if art.task_id else "")
            rows.append(
                ArtifactRow(
                    phase=label,
                    version=art.version,
                    sha256=art.sha256,
                    approved_by=sorted({a.by for a in approved}),
                    at=max(a.at for a in approved),
                )
            )
        return goal, rows, waiting


def _gates(goal: Goal, approved: int, stale: tuple[Stale, ...] = ()) -> tuple[StatusState, str]:
    if stale and goal.state not in (GoalState.REJECTED, GoalState.CANCELLED):
        names = ", ".join(s.label for s in stale)
        return "pending", f"Changed on the branch after approval: {names}; its approval no longer counts"
    if goal.state == GoalState.DONE:
        return "success", f"All gates approved ({approved} artifacts)"
    if goal.state == GoalState.REJECTED:
        return "failure", "The goal was rejected"
    if goal.state == GoalState.CANCELLED:
        return "failure", "The goal was cancelled"
    return "pending", f"{approved} approved; waiting on {LABELS[Phase(goal.phase)]}"


def build_delivery(container: Any) -> DeliveryEffects | None:
    """The delivery of this deployment: None when every repository is the settings' local one."""
    s = container.settings
    if not s.repo_url and not s.repos:
        return None
    targets = build_targets(s)
    if not s.repos and not targets[None].delivered:
        return None  # one repository, delivered locally (in this process's clone, when it is remote)
    return DeliveryEffects(
        engine=container.engine,
        clock=container.clock,
        targets=targets,
        merge_method=s.merge_method,
        slack=container.slack,
        default_root=Path(s.repo),
    )


__all__ = ["DeliveryEffects", "ForgeError", "Outcome", "build_delivery"]
