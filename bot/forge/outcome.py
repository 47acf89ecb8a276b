"""What one delivery did (`Outcome`) and what the goal's thread is told about it. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Stale:
    """An approved document someone changed on the goal branch afterwards."""

    label: str  # "PRD"
    version: int
    path: str  # tasks/G-0001/prd.md
    approved_sha256: str
    now_sha256: str


@dataclass(frozen=True)
class Outcome:
    """What a delivery did that people should hear about in the thread."""

    opened: str | None = None  # the pull request's URL
    merged: str | None = None  # the merge commit
    refused: str | None = None  # why the host would not merge
    closed: bool = False
    number: int | None = None
    url: str | None = None
    state: str | None = None  # open | merged | closed, as the host now has it
    ci: str | None = None  # the CI line for the thread (bot.forge.body.ci_text)
    push_rejected: str | None = None  # the goal branch, when a push was refused
    remote_head: str | None = None  # what the remote branch points at then
    stale: tuple[Stale, ...] = ()  # approvals a push to the goal branch made stale


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def thread_notes(goal_id: str, outcome: Outcome, *, base: str) -> list[tuple[str, str]]:
    """(effect key, text) of each thread note; the keys make each one said once."""
    notes = []
    if outcome.opened:
        notes.append(
            (
                f"note:{goal_id}:pr-opened",
                f"📬 Draft pull request opened: <{outcome.opened}|#{outcome.number}>",
            )
        )
    if outcome.merged is not None:
        sha = f" (`{outcome.merged[:12]}`)" if outcome.merged else ""
        notes.append(
            (f"note:{goal_id}:pr-merged", f"🔀 Pull request #{outcome.number} merged into `{base}`{sha}.")
        )
    if outcome.refused:
        # Said once per reason: the deliveries that webhooks trigger meet the same refusal again.
        reason = hashlib.sha256(outcome.refused.encode()).hexdigest()[:16]
        notes.append(
            (
                f"note:{goal_id}:pr-refused:{reason}",
                f"⚠️ GitHub would not merge pull request #{outcome.number}: {_sentence(outcome.refused)} "
                "Nothing is lost: the bot merges as soon as GitHub allows (it hears of new checks through "
                "its webhook), or press Retry once it is fixed.",
            )
        )
    if outcome.push_rejected:
        notes.append(
            (
                f"note:{goal_id}:push-rejected:{outcome.remote_head}",  # once per foreign head
                f"⚠️ GitHub refused the bot's push to `{outcome.push_rejected}`: the branch has commits "
                "the bot does not have (someone pushed to it). Nothing is lost: the bot's commits are kept "
                "in its clone. Move those commits to another branch (or reset the goal branch to the bot's "
                "last commit), then press Retry merge.",
            )
        )
    for item in outcome.stale:
        notes.append(
            (
                f"note:{goal_id}:stale:{item.path}:{item.now_sha256[:16]}",  # once per changed text
                f"⚠️ `{item.path}` ({item.label} v{item.version}) was changed on the goal branch after it "
                f"was approved: the approval was for sha256 `{item.approved_sha256[:12]}`, the branch now has "
                f"`{item.now_sha256[:12]}`, so it no longer counts. The pull request is not merged while an "
                "approval is stale: put the approved text back on the branch (or cancel the goal and start "
                "again from the new text).",
            )
        )
    if outcome.closed:
        notes.append(
            (f"note:{goal_id}:pr-closed", f"Pull request #{outcome.number} closed; the branch is kept.")
        )
    return notes


def retry_offered(key: str) -> bool:
    """A refused merge or push: the note carries a Retry merge button."""
    return ":pr-refused:" in key or ":push-rejected:" in key
