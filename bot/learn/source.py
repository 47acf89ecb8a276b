"""Where a harvest reads from: a local folder as it is, or a shallow clone of a git URL.

The location comes from a person (a CLI argument or Slack text), so it is checked before git
sees it: only https, ssh, git and file URLs (and scp-style `user@host:path`), nothing that could
be read as an option, no credentials in the URL (they would land in the audit log and the
index), and git's `ext::` transport is switched off. The label recorded as an asset's origin
never holds a local path of this machine: a folder is named by its last component and commit.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.repo.errors import GitError
from bot.repo.git import run_in

URL_SCHEMES = ("https", "ssh", "git", "file")
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!/)[A-Za-z0-9._/~-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_SPEC = 500


class SourceError(ValueError):
    """The source cannot be used; the message is fit to show the person who gave it."""


@dataclass(frozen=True)
class ResolvedSource:
    root: Path
    label: str  # e.g. "github.com/acme/service@1a2b3c4" or "service@1a2b3c4"
    cloned: bool


def is_url(spec: str) -> bool:
    return "://" in spec or bool(_SCP.match(spec))


def check_url(spec: str) -> str:
    """Return the URL if git may clone it, else raise `SourceError` saying why."""
    if _SCP.match(spec):
        return spec
    parts = urlsplit(spec)
    if parts.scheme.lower() not in URL_SCHEMES:
        raise SourceError(
            f"Only {', '.join(URL_SCHEMES)} URLs can be learned from, not {parts.scheme or 'this'}."
        )
    if parts.password is not None:
        raise SourceError(
            "Put no credentials in the URL; configure git credentials on the bot's host instead."
        )
    if parts.scheme.lower() != "file" and not parts.hostname:
        raise SourceError("That URL has no host.")
    if parts.scheme.lower() == "file" and not parts.path:
        raise SourceError("That file URL has no path.")
    return spec


def _label_of_url(spec: str) -> str:
    if _SCP.match(spec):
        host, _, path = spec.partition("@")[2].partition(":")
        return f"{host}/{path.removesuffix('.git')}"
    parts = urlsplit(spec)
    path = parts.path.rstrip("/").removesuffix(".git")
    if parts.scheme.lower() == "file":
        return path.rsplit("/", 1)[-1] or "repository"
    return f"{parts.hostname}{path}"


def _head(root: Path) -> str | None:
    proc = run_in(root, "rev-parse", "--verify", "--quiet", "HEAD", ok_codes=(0, 1, 128))
    return proc.stdout.strip()[:7] if proc.returncode == 0 and proc.stdout.strip() else None


def _check_spec(spec: str) -> str:
    spec = (spec or "").strip()
    if not spec:
        raise SourceError("Say what to learn from: a folder on the bot's host or a git URL.")
    if len(spec) > MAX_SPEC or _CONTROL.search(spec) or spec.startswith("-") or " " in spec:
        raise SourceError("That does not look like a folder or a git URL.")
    return spec


@contextmanager
def open_source(spec: str) -> Iterator[ResolvedSource]:
    """Yield the source's files on disk; a clone is deleted again afterwards."""
    spec = _check_spec(spec)
    if not is_url(spec):
        root = Path(spec).expanduser()
        if not root.is_dir():
            raise SourceError(f"There is no folder {root.name or spec} to learn from.")
        head = _head(root) if (root / ".git").exists() else None
        name = root.resolve().name or "repository"
        yield ResolvedSource(root=root.resolve(), label=f"{name}@{head}" if head else name, cloned=False)
        return
    url = check_url(spec)
    with tempfile.TemporaryDirectory(prefix="orch-learn-") as tmp:
        dest = Path(tmp) / "source"
        try:
            run_in(
                tmp,
                "-c",
                "protocol.ext.allow=never",
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--no-tags",
                "--single-branch",
                "--",
                url,
                str(dest),
            )
        except GitError as exc:
            raise SourceError(
                f"Could not clone {_label_of_url(url)}: {exc.stderr.strip()[:300] or exc}"
            ) from exc
        head = _head(dest)
        label = _label_of_url(url)
        yield ResolvedSource(root=dest, label=f"{label}@{head}" if head else label, cloned=True)
