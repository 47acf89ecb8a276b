"""Copies of the audit chain's head kept outside the database, and the check that it still holds them.

A keyed chain cannot be rewritten without the key, but it can be cut short or emptied, and a
chain rewritten as legacy (unkeyed) entries verifies on its own. Copies kept elsewhere catch
both: every commit the bot makes carries `Audit-Head: <seq>:<mac>` (bot.repo.git), every line of
`tasks/events.jsonl` names an entry's seq and hash, and `orch audit verify` keeps the head it
last found intact in `<data dir>/audit.head`. The database must still hold each of those
entries with the same hash.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.repo.errors import GitError
from bot.repo.git import AUDIT_HEAD_TRAILER, repo_top_level, run_in
from bot.sop.index import EVENTS_PATH
from storage.audit import chain_head, hashes_at

log = logging.getLogger(__name__)

HEAD_FILE = "audit.head"
_VALUE = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    where: str  # "commit 1a2b3c4d5e6f", "tasks/events.jsonl", "audit.head"


def head_value(engine: Engine) -> str | None:
    """`<seq>:<hash>` of the log's head, for a commit trailer; None for an empty or unreadable log
    (a commit is never held back for its anchor)."""
    try:
        head = chain_head(engine)
    except SQLAlchemyError:
        log.warning("the audit head could not be read; this commit carries no Audit-Head trailer")
        return None
    return f"{head[0]}:{head[1]}" if head else None


def parse_value(value: str) -> tuple[int, str] | None:
    match = _VALUE.match(value.strip())
    return (int(match[1]), match[2]) if match else None


def repo_anchors(repo: Path) -> list[Anchor]:
    """Every `Audit-Head` trailer on any branch of `repo`, and every event of its `tasks/events.jsonl`."""
    if repo_top_level(repo) != Path(repo).resolve():
        raise GitError(f"not the top level of a git repository: {repo}")
    anchors: list[Anchor] = []
    fmt = f"--format=%H%x1f%(trailers:key={AUDIT_HEAD_TRAILER},valueonly,separator=%x1f)%x1e"
    out = run_in(repo, "log", "--all", fmt, ok_codes=(0, 128)).stdout
    for record in out.split("\x1e"):
        sha, _, values = record.strip().partition("\x1f")
        for value in values.split("\x1f"):
            parsed = parse_value(value) if value.strip() else None
            if parsed is not None:
                anchors.append(Anchor(parsed[0], parsed[1], f"commit {sha[:12]}"))
    events = run_in(repo, "show", f"HEAD:{EVENTS_PATH}", ok_codes=(0, 128))
    if events.returncode == 0:
        for line in events.stdout.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (
                isinstance(event, dict)
                and isinstance(event.get("seq"), int)
                and isinstance(event.get("hash"), str)
            ):
                anchors.append(Anchor(event["seq"], event["hash"], EVENTS_PATH))
    return anchors


def read_head_file(path: Path) -> Anchor | None:
    try:
        parsed = parse_value(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Anchor(parsed[0], parsed[1], path.name) if parsed else None


def record_head(path: Path, seq: int, hash_: str) -> None:
    """Keep the newest verified head (a shorter chain never moves the copy back)."""
    kept = read_head_file(path)
    if kept is not None and kept.seq > seq:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    tmp.write_text(f"{seq}:{hash_}\n", encoding="utf-8")
    os.replace(tmp, path)


def check_anchors(engine: Engine, anchors: list[Anchor]) -> list[str]:
    """One line per anchored entry the database no longer holds as it was."""
    by_entry: dict[tuple[int, str], list[str]] = {}
    for anchor in anchors:
        by_entry.setdefault((anchor.seq, anchor.hash), []).append(anchor.where)
    found = hashes_at(engine, {seq for seq, _ in by_entry})
    problems = []
    for (seq, hash_), places in sorted(by_entry.items()):
        where = places[0] + (f" and {len(places) - 1} more" if len(places) > 1 else "")
        if seq not in found:
            problems.append(
                f"entry {seq}, anchored in {where}, is missing: the log was cut short or renumbered"
            )
        elif found[seq] != hash_:
            problems.append(f"entry {seq} differs from its anchor in {where}: the log was rewritten")
    return problems
