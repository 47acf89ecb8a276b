"""Lossless import and export of Task Master's `tasks.json`.

Task Master writes either the tagged format `{"master": {"tasks": [...], "metadata": {...}}, …}`
or the legacy `{"tasks": [...]}`. Tasks become `TaskRecord`s (subtasks `Subtask`s); keys we do
not model survive as pydantic extras. So that an import followed by an export gives back the same
bytes, each task also remembers which keys it had and in what order, but only when that differs
from the order we would write anyway (`KEY_ORDER_FIELD`, kept in `tasks/index.json`). Values are
never reinterpreted: `"3.1"` dependencies stay strings, numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.sop.records import Subtask, TaskRecord

KEY_ORDER_FIELD = "_taskmaster_key_order"
DEFAULT_TAG = "master"
TASK_CORE = ("id", "title", "description", "status", "dependencies", "priority", "details", "testStrategy")
SUBTASK_CORE = ("id", "title", "description", "status", "dependencies")
# Keys written only when they hold something: Task Master omits them when empty, and ours
# (files, acceptance_criteria, evidence) are not Task Master's at all.
TASK_OPTIONAL = ("subtasks", "files", "acceptance_criteria", "evidence")
SUBTASK_OPTIONAL = ("details", "testStrategy")


class TaskmasterFormatError(ValueError):
    """The data is not a Task Master tasks file we can read without losing something."""


@dataclass(frozen=True)
class TaskmasterDoc:
    tasks: list[TaskRecord]
    tag: str | None  # None for the legacy format
    metadata: dict[str, Any] | None


def _is_default(model: BaseModel, key: str) -> bool:
    info = type(model).model_fields[key]
    return getattr(model, key) == info.get_default(call_default_factory=True)


def _extras(model: BaseModel) -> list[str]:
    return [k for k in (model.model_extra or {}) if k != KEY_ORDER_FIELD]


def _default_keys(model: BaseModel, core: Sequence[str], optional: Sequence[str]) -> list[str]:
    """The keys we write for a record that carries no remembered order."""
    present_optional = [k for k in optional if not _is_default(model, k)]
    if isinstance(model, TaskRecord):
        # Task Master puts subtasks right after the core fields; our own fields go last.
        head = [k for k in present_optional if k == "subtasks"]
        tail = [k for k in present_optional if k != "subtasks"]
        return [*core, *head, *_extras(model), *tail]
    return [*core, *present_optional, *_extras(model)]


def _key_order(model: BaseModel, core: Sequence[str], optional: Sequence[str]) -> list[str]:
    remembered = (model.model_extra or {}).get(KEY_ORDER_FIELD)
    default = _default_keys(model, core, optional)
    if not isinstance(remembered, list):
        return default
    fields = type(model).model_fields
    extras = set(_extras(model))
    keys = [k for k in remembered if k in fields or k in extras]
    # Anything set since the import (evidence, a new extra) is appended after the remembered keys.
    keys += [k for k in default if k not in keys and (k not in fields or not _is_default(model, k))]
    return keys


def _remember_order(
    raw_keys: list[str], model: BaseModel, core: Sequence[str], optional: Sequence[str]
) -> None:
    if raw_keys != _default_keys(model, core, optional):
        extra = model.model_extra
        assert extra is not None  # both models allow extras
        extra[KEY_ORDER_FIELD] = list(raw_keys)


def _where(errors: list[Any]) -> str:
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "(task)"
    return f"{loc}: {first.get('msg', 'invalid')}"


def _parse_task(raw: Any, position: int) -> TaskRecord:
    if not isinstance(raw, dict):
        raise TaskmasterFormatError(f"task #{position + 1} is not an object")
    subtasks = raw.get("subtasks")
    if subtasks is not None and not isinstance(subtasks, list):
        raise TaskmasterFormatError(f"task #{position + 1}: subtasks is not a list")
    cleaned = {k: v for k, v in raw.items() if k != KEY_ORDER_FIELD}
    try:
        task = TaskRecord.model_validate(cleaned)
    except ValidationError as exc:
        raise TaskmasterFormatError(
            f"task #{position + 1} (id {raw.get('id')!r}): {_where(exc.errors())}"
        ) from None
    for sub, raw_sub in zip(task.subtasks, subtasks or [], strict=True):
        _remember_order(list(raw_sub), sub, SUBTASK_CORE, SUBTASK_OPTIONAL)
    _remember_order(list(cleaned), task, TASK_CORE, TASK_OPTIONAL)
    return task


def _pick_tag(data: Mapping[str, Any], tag: str | None) -> str:
    tags = [k for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("tasks"), list)]
    if tag is not None:
        if tag not in tags:
            raise TaskmasterFormatError(f"no tag {tag!r} in the file; tags: {', '.join(tags) or 'none'}")
        return tag
    if DEFAULT_TAG in tags:
        return DEFAULT_TAG
    if len(tags) == 1:
        return tags[0]
    raise TaskmasterFormatError(f"name the tag to import; tags: {', '.join(tags) or 'none'}")


def read_taskmaster(data: Any, tag: str | None = None) -> TaskmasterDoc:
    """Read one tag (default `master`, or the only one) or a legacy file into records."""
    if not isinstance(data, dict):
        raise TaskmasterFormatError("a Task Master tasks file is a JSON object")
    if isinstance(data.get("tasks"), list):
        if tag not in (None, DEFAULT_TAG):
            raise TaskmasterFormatError(f"a legacy tasks file has no tags (asked for {tag!r})")
        chosen, body = None, data
    else:
        chosen = _pick_tag(data, tag)
        body = data[chosen]
    tasks = [_parse_task(raw, i) for i, raw in enumerate(body["tasks"])]
    seen: set[int] = set()
    for task in tasks:
        if task.id in seen:
            raise TaskmasterFormatError(f"task id {task.id} appears twice")
        seen.add(task.id)
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise TaskmasterFormatError("metadata is not an object")
    return TaskmasterDoc(tasks=tasks, tag=chosen, metadata=metadata)


def import_taskmaster(data: Any, tag: str | None = None) -> list[TaskRecord]:
    return read_taskmaster(data, tag).tasks


def _dump(model: BaseModel, keys: list[str]) -> dict[str, Any]:
    dumped = model.model_dump(mode="json")
    return {k: dumped[k] for k in keys}


def _export_task(task: TaskRecord) -> dict[str, Any]:
    out = _dump(task, _key_order(task, TASK_CORE, TASK_OPTIONAL))
    if "subtasks" in out:
        out["subtasks"] = [_export_subtask(s) for s in task.subtasks]
    return out


def _export_subtask(sub: Subtask) -> dict[str, Any]:
    return _dump(sub, _key_order(sub, SUBTASK_CORE, SUBTASK_OPTIONAL))


def export_taskmaster(
    tasks: Sequence[TaskRecord],
    tag: str = DEFAULT_TAG,
    metadata: Mapping[str, Any] | None = None,
    *,
    legacy: bool = False,
    into: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Task Master's JSON for `tasks` under `tag` (or legacy `{"tasks": …}`).

    With `into`, everything else in that existing document is kept in its order: the other tags,
    or for a legacy file its other top-level keys; `tag` (or `tasks`) is replaced in place.
    """
    exported = [_export_task(t) for t in tasks]
    out = dict(into) if into is not None else {}
    is_legacy_doc = isinstance(out.get("tasks"), list)
    if legacy:
        if into is not None and not is_legacy_doc:
            raise TaskmasterFormatError("cannot write the legacy format into a tagged tasks file")
        out["tasks"] = exported
        if metadata is not None:
            out["metadata"] = dict(metadata)
        return out
    if not tag or not isinstance(tag, str):
        raise TaskmasterFormatError("a tag name is required")
    if is_legacy_doc:
        raise TaskmasterFormatError("cannot add a tag to a legacy tasks file; export with legacy=True")
    body: dict[str, Any] = {"tasks": exported}
    if metadata is not None:
        body["metadata"] = dict(metadata)
    out[tag] = body
    return out
