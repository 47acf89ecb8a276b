"""The state-of-record files under `tasks/`: `index.json`, its schema and `events.jsonl`.

`index.json` is validated against `index.schema.json` (JSON Schema 2020-12) on every write and
on every read; an invalid index is never written. Writes are atomic (a temporary file in the
same folder, fsync, rename), so a crash leaves either the old or the new file, never half of
one. The output is deterministic (model field order, two-space indent, trailing newline), so a
re-write of the same state is byte-identical and git sees no change.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import ValidationError

from bot.sop.records import IndexFile, to_json_dict

INDEX_PATH = "tasks/index.json"
SCHEMA_PATH = "tasks/index.schema.json"
EVENTS_PATH = "tasks/events.jsonl"


class IndexFileError(ValueError):
    """`tasks/index.json` (or an index about to be written) does not match the schema."""


@cache
def schema_text() -> str:
    return resources.files("bot.sop").joinpath("index.schema.json").read_text(encoding="utf-8")


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(schema_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _goal_validator() -> Draft202012Validator:
    """The schema of one entry of `goals` (`#/$defs/goal`, its references resolved as in the file)."""
    schema = json.loads(schema_text())
    one = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/goal"}
    return Draft202012Validator(one, format_checker=Draft202012Validator.FORMAT_CHECKER)


# Goal entries found valid, by their JSON text. Every publish validates the whole index, and all
# its goals but the one or few the publish changed were valid the time before: checking each
# entry once made the schema check of an index of many goals proportional to what changed.
_VALID_GOALS: dict[str, None] = {}
_VALID_GOALS_MAX = 4096


def schema_errors(data: Any) -> list[str]:
    """Readable schema violations (`goals/0/id: 'x' does not match …`), empty when valid.

    `goals` is an array of `#/$defs/goal` and nothing in the schema relates one entry to another,
    so the index is checked as its top level plus each entry, an entry seen valid before not again."""
    goals = data.get("goals") if isinstance(data, dict) else None
    if not isinstance(goals, list):
        return _readable(_validator().iter_errors(data))
    errors = list(_validator().iter_errors({**data, "goals": []}))
    for i, goal in enumerate(goals):
        text = json.dumps(goal, sort_keys=True, ensure_ascii=False, default=str)
        if text in _VALID_GOALS:
            continue
        found = list(_goal_validator().iter_errors(goal))
        for error in found:
            error.path.extendleft(["goals", i][::-1])  # as if found in the whole index
        errors += found
        if not found:
            if len(_VALID_GOALS) >= _VALID_GOALS_MAX:
                _VALID_GOALS.clear()
            _VALID_GOALS[text] = None
    return _readable(errors)


def _readable(errors: Iterable[Any]) -> list[str]:
    ordered = sorted(errors, key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in ordered]


def validate_index_data(data: Any) -> None:
    problems = schema_errors(data)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise IndexFileError(f"{INDEX_PATH} does not match its schema: {shown}")


# The last index text this process validated against the schema. Every publish reads the index
# it wrote the time before: that text need not be checked again (the schema check of an index of
# many goals was a good part of the time the branch lock was held).
_last_valid = ""


def dump_index(index: IndexFile) -> str:
    """The exact text written to `tasks/index.json`; raises `IndexFileError` if invalid."""
    global _last_valid
    data = to_json_dict(index)
    validate_index_data(data)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    _last_valid = text
    return text


def parse_index(text: str) -> IndexFile:
    global _last_valid
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IndexFileError(f"{INDEX_PATH} is not valid JSON: {exc}") from None
    if text != _last_valid:
        validate_index_data(data)
        _last_valid = text
    try:
        return IndexFile.model_validate(data)
    except ValidationError as exc:
        raise IndexFileError(f"{INDEX_PATH} is not a valid index: {exc}") from None


def load_index(repo_path: str | Path) -> IndexFile:
    """The repository's index; an empty one when the file does not exist yet."""
    path = Path(repo_path) / INDEX_PATH
    if not path.exists():
        return IndexFile()
    return parse_index(path.read_text(encoding="utf-8"))


def write_atomic(path: Path, data: str | bytes) -> bool:
    """Replace `path` with `data` atomically; False (and no write) when it already holds it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if path.is_file() and path.read_bytes() == raw:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def save_index(repo_path: str | Path, index: IndexFile) -> bool:
    """Validate and write `tasks/index.json`; True if the file changed."""
    return write_atomic(Path(repo_path) / INDEX_PATH, dump_index(index))


def write_schema(repo_path: str | Path) -> bool:
    """Copy the schema next to the index so the repository documents its own state file."""
    return write_atomic(Path(repo_path) / SCHEMA_PATH, schema_text())


# -- events.jsonl ----------------------------------------------------------------------------


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to {EVENTS_PATH}")


def event_ids(repo_path: str | Path) -> set[str]:
    """Ids of the events already in `tasks/events.jsonl`; unreadable lines are skipped."""
    return set(_known_ids(repo_path))


def _known_ids(repo_path: str | Path) -> AbstractSet[str]:
    return _EVENT_IDS.of(Path(os.path.abspath(Path(repo_path) / EVENTS_PATH)))


class _EventIds:
    """The ids in an events file, read whole once and then only what was appended since.

    Every commit of the goals' state appends its events after asking which are in the file already;
    reading the whole file each time made a commit's cost grow with every event ever recorded. The
    file is append-only: what was read is known by its end offset and the bytes just before it. If
    the file is another one (inode), shorter, or those bytes changed (a person edited it), it is
    read whole again. Only whole lines are read: a line torn by a crash is read once it is ended."""

    TAIL = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[Path, tuple[int, int, bytes, set[str]]] = {}

    def of(self, path: Path) -> AbstractSet[str]:
        """The ids (a set kept and grown here: read it, do not change it)."""
        with self._lock:
            try:
                fh = path.open("rb")
            except FileNotFoundError:
                self._known.pop(path, None)
                return set()
            with fh:
                inode = os.fstat(fh.fileno()).st_ino
                known_inode, offset, tail, ids = self._known.get(path, (-1, 0, b"", set()))
                if known_inode != inode or not self._same_tail(fh, offset, tail):
                    offset, tail, ids = 0, b"", set()
                fh.seek(offset)
                data = fh.read()
            whole = data[: data.rfind(b"\n") + 1]
            for line in whole.splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash mid-append; the event is appended again whole
                if isinstance(event, dict) and "id" in event:
                    ids.add(str(event["id"]))
            end = offset + len(whole)
            kept_tail = (tail + whole)[-self.TAIL :]
            self._known[path] = (inode, end, kept_tail, ids)
            return ids

    def _same_tail(self, fh: Any, offset: int, tail: bytes) -> bool:
        if offset == 0:
            return True
        if len(tail) > offset:
            return False
        fh.seek(offset - len(tail))
        return bool(fh.read(len(tail)) == tail)


_EVENT_IDS = _EventIds()


def _last_byte(path: Path) -> bytes | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1)


def append_events(repo_path: str | Path, events: Iterable[Mapping[str, Any]]) -> int:
    """Append the events whose `id` is not in the file yet; returns how many were appended."""
    pending: list[Mapping[str, Any]] = []
    seen, added = _known_ids(repo_path), set()
    for event in events:
        if "id" not in event or not str(event["id"]).strip():
            raise ValueError("every event needs a non-empty 'id'")
        key = str(event["id"])
        if key not in seen and key not in added:
            added.add(key)
            pending.append(event)
    if not pending:
        return 0
    path = Path(repo_path) / EVENTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(
        json.dumps(dict(e), sort_keys=True, ensure_ascii=False, default=_json_default) + "\n" for e in pending
    )
    torn = _last_byte(path) not in (None, b"\n")
    with path.open("a", encoding="utf-8", newline="\n") as fh:
        # After a crash mid-append the last line may lack its newline; end it rather than glue to it.
        fh.write(("\n" if torn else "") + lines)
    return len(pending)
