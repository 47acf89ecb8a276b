"""An index nobody can forge: the bot signs its commits (git's SSH signing), the guard checks them.

The bot's public key is listed in the repository's `.orch/allowed_signers` (git's allowed-signers
format). Once that file is in the history, every later commit that changes `tasks/index.json` or a
goal's canonical files must be signed by a key the file lists, and an approval recorded in the
index is accepted only if the commit that introduced it is such a commit carrying `Orch-Effect`
(and, for an approval, `Approved-By` naming the approver). Records introduced before the commit
that added the file are history from before signing and are accepted as they are. A change of the
file itself must be signed by a key its previous version lists (that is how a key is rotated).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.repo.git import run_in
from bot.repo.port import EFFECT_TRAILER
from bot.sop.index import INDEX_PATH, parse_index
from bot.sop.records import IndexFile

ALLOWED_SIGNERS = ".orch/allowed_signers"
_GUARDED = ("tasks",)  # the index, its schema, the events and every goal's canonical files


@dataclass(frozen=True)
class SigningProblem:
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def generate_key(path: Path, comment: str = "orch-bot") -> str:
    """A new ed25519 key at `path` (private, mode 600) and `path.pub`; returns the public key line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return public_key(path)


def public_key(path: Path) -> str:
    pub = Path(f"{path}.pub")
    if pub.is_file():
        return " ".join(pub.read_text(encoding="utf-8").split()[:2])
    out = subprocess.run(["ssh-keygen", "-y", "-f", str(path)], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.split()[:2])


def signer_line(email: str, key: str) -> str:
    return f'{email} namespaces="git" {key}'


def _git(top: Path, *args: str, ok: Iterable[int] = (0,)) -> subprocess.CompletedProcess[str]:
    return run_in(top, *args, ok_codes=tuple(ok))


def _show(top: Path, rev: str, path: str) -> str | None:
    proc = _git(top, "show", f"{rev}:{path}", ok=(0, 128))
    return proc.stdout if proc.returncode == 0 else None


def verified(top: Path, commits: list[str], signers: str) -> set[str]:
    """The commits among `commits` signed by a key `signers` lists."""
    if not commits:
        return set()
    fd, name = tempfile.mkstemp(prefix="orch-signers-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(signers)
        out = _git(
            top,
            "-c",
            f"gpg.ssh.allowedSignersFile={name}",
            "log",
            "--no-walk=unsorted",
            "--format=%H %G?",
            *commits,
        ).stdout
    finally:
        Path(name).unlink(missing_ok=True)
    return {line.split()[0] for line in out.splitlines() if line.endswith(" G")}


def _anchor(top: Path, rev: str) -> str | None:
    """The newest commit (reachable from `rev`) that added `.orch/allowed_signers`."""
    out = _git(
        top, "log", "--diff-filter=A", "--format=%H", rev, "--", ALLOWED_SIGNERS, ok=(0, 128)
    ).stdout.split()
    return out[0] if out else None


def _index_at(top: Path, rev: str) -> IndexFile:
    text = _show(top, rev, INDEX_PATH)
    return parse_index(text) if text else IndexFile()


def _records(index: IndexFile) -> dict[tuple[str, ...], tuple[str, str, str]]:
    """Each decision of the index by a stable key → (goal, phase, who)."""
    found: dict[tuple[str, ...], tuple[str, str, str]] = {}
    for goal in index.goals:
        for a in goal.approvals:
            key = (goal.id, a.phase, a.artifact_sha256, a.decision, a.by, a.at.isoformat())
            found[key] = (goal.id, a.phase, a.by)
    return found


def _message(top: Path, commit: str) -> tuple[dict[str, list[str]], str]:
    body = _git(top, "log", "-1", "--format=%B", commit).stdout
    trailers_text = _git(top, "log", "-1", "--format=%(trailers:only,unfold)", commit).stdout
    trailers: dict[str, list[str]] = {}
    for line in trailers_text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            trailers.setdefault(key.strip().lower(), []).append(value.strip())
    return trailers, body


def _changed(top: Path, commit: str) -> list[str]:
    out = _git(
        top, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", "-m", commit, "--", *_GUARDED
    )
    return sorted(set(out.stdout.split()))


def check_history(top: Path, rev: str = "HEAD") -> list[SigningProblem]:
    """Problems with the signatures behind `tasks/` at `rev`; none when signing is not set up."""
    signers = _show(top, rev, ALLOWED_SIGNERS)
    anchor = _anchor(top, rev) if signers is not None else None
    if signers is None or anchor is None:
        return []
    if _git(top, "rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        return [SigningProblem("history", "the clone is shallow; fetch the whole history (fetch-depth: 0)")]
    problems: list[SigningProblem] = []
    problems += _signer_changes(top, anchor, rev)
    parent = _git(top, "rev-parse", "--verify", "--quiet", f"{anchor}^", ok=(0, 1, 128)).stdout.strip()
    span = f"{parent}..{rev}" if parent else rev
    touching = _git(top, "rev-list", "--reverse", span, "--", *_GUARDED).stdout.split()
    good = _verified_in_time(top, touching)
    for commit in touching:
        if commit not in good:
            files = ", ".join(_changed(top, commit)) or INDEX_PATH
            problems.append(
                SigningProblem(
                    f"commit {commit[:12]}",
                    f"changes {files} without the signature of a key in {ALLOWED_SIGNERS}; only orch writes "
                    "these files: revert that change (git revert, or restore the files from the bot's last "
                    "commit) and make it through orch (draft, approve, re-review)",
                )
            )
    problems += _introducers(top, parent or None, touching, good)
    return problems


def _verified_in_time(top: Path, commits: list[str]) -> set[str]:
    """The commits signed by a key allowed when they were made: the signers file of the commit's
    parent (or of the commit itself, where it first appears). A retired key's line can then be
    removed without turning the commits it signed into unverified ones."""
    groups: dict[str, list[str]] = {}
    for commit in commits:
        text = _show(top, f"{commit}^", ALLOWED_SIGNERS)
        if text is None:
            text = _show(top, commit, ALLOWED_SIGNERS) or ""
        groups.setdefault(text, []).append(commit)
    good: set[str] = set()
    for text, group in groups.items():
        good |= verified(top, group, text)
    return good


def _signer_changes(top: Path, anchor: str, rev: str) -> list[SigningProblem]:
    """Every change of the allowed signers after it was added is signed by a key listed before it."""
    problems = []
    changes = _git(top, "rev-list", "--reverse", f"{anchor}..{rev}", "--", ALLOWED_SIGNERS).stdout.split()
    for commit in changes:
        before = _show(top, f"{commit}^", ALLOWED_SIGNERS) or ""
        if commit not in verified(top, [commit], before):
            problems.append(
                SigningProblem(
                    f"commit {commit[:12]}",
                    f"changes {ALLOWED_SIGNERS} without the signature of a key it listed before; a new key is "
                    "added by a commit signed with an allowed one (orch signing init, docs/SPEC_GUARD.md)",
                )
            )
    return problems


def _introducers(top: Path, parent: str | None, touching: list[str], good: set[str]) -> list[SigningProblem]:
    """Each decision recorded after signing began came in a signed commit with matching trailers."""
    seen = set(_records(_index_at(top, parent))) if parent else set()
    problems = []
    for commit in touching:
        records = _records(_index_at(top, commit))
        new = [k for k in records if k not in seen]
        seen.update(records)
        if not new or commit not in good:
            continue  # an unsigned commit is reported above already
        trailers, body = _message(top, commit)
        if not trailers.get(EFFECT_TRAILER.lower()):
            problems.append(
                SigningProblem(
                    f"commit {commit[:12]}", f"records decisions without an {EFFECT_TRAILER} trailer"
                )
            )
            continue
        named = " ".join(trailers.get("approved-by", [])) + "\n" + body
        for key in new:
            goal, phase, who = records[key]
            if key[3] in ("approve", "reaffirm") and who not in named:
                problems.append(
                    SigningProblem(
                        f"{goal} {phase}",
                        f"the {key[3]} by {who} was recorded by commit {commit[:12]}, whose Approved-By does not "
                        "name them",
                    )
                )
    return problems


def staged_edits(top: Path) -> list[SigningProblem]:
    """A person's commit (the hook) that changes `tasks/index.json` or a goal's files, with signing on."""
    if _show(top, "HEAD", ALLOWED_SIGNERS) is None and not _staged_has_signers(top):
        return []
    env = {**os.environ, "LC_ALL": "C"}
    out = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--", *_GUARDED],
        cwd=top,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return [
        SigningProblem(
            path,
            f"is written only by orch (signed commits, {ALLOWED_SIGNERS}); take it out of this commit with "
            f"`git restore --staged --worktree {path}` and make the change through orch",
        )
        for path in out
    ]


def _staged_has_signers(top: Path) -> bool:
    env = {**os.environ, "LC_ALL": "C"}
    proc = subprocess.run(
        ["git", "cat-file", "-e", f":{ALLOWED_SIGNERS}"], cwd=top, env=env, capture_output=True, timeout=60
    )
    return proc.returncode == 0
