"""`patterns/index.json`: every learning asset with its origin, version and last use.

A version counts content changes: an asset keeps its version while its sha256 is unchanged and
goes up by one when a harvest proposes different content. Entries for files a harvest did not
produce (written by hand, or learned from another source) are kept as they are.

Last use is derived from the audit log rather than written at each use, so using an asset never
dirties the repository: a phase template is used by every draft of its phase, the test adapter by
every Scaffold Check and implementation build, from the moment the asset was adopted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.learn.adapters import TESTS_ADAPTER
from bot.learn.files import Asset

INDEX_PATH = "patterns/index.json"
SCHEMA = 1
# Which drafted phases read which asset (see bot.agents.templates and bot.sop.scaffold).
USED_BY_PHASE: dict[str, tuple[str, ...]] = {
    "scaffold_check": (TESTS_ADAPTER,),
    "prd": ("patterns/templates/prd.md",),
    "task_list": ("patterns/templates/tasks.md",),
    "spec": ("patterns/templates/spec.md",),
    "action_plan": ("patterns/templates/action-plan.md",),
    "implementation": (TESTS_ADAPTER,),
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso_z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_index(text: str | None) -> dict[str, Any]:
    """The index as data; an absent or unreadable index is an empty one."""
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        data = {}
    assets = data.get("assets") if isinstance(data, dict) else None
    clean = (
        [a for a in assets if isinstance(a, dict) and isinstance(a.get("path"), str)]
        if isinstance(assets, list)
        else []
    )
    return {"schema": SCHEMA, "assets": clean}


def dump_index(index: dict[str, Any]) -> str:
    return json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def merge_index(
    existing: dict[str, Any],
    assets: Iterable[Asset],
    *,
    source: str,
    at: datetime,
    last_used: dict[str, datetime] | None = None,
) -> dict[str, Any]:
    """The index after adopting `assets` (pure: `existing` is not modified)."""
    entries = {a["path"]: dict(a) for a in existing.get("assets", [])}
    for asset in assets:
        digest = sha256(asset.content)
        old = entries.get(asset.path)
        if old is not None and old.get("sha256") == digest:
            continue
        version = int(old.get("version", 0)) + 1 if old is not None else 1
        entries[asset.path] = {
            "path": asset.path,
            "kind": asset.kind,
            "tool": asset.tool,
            "origin": {"source": source, "file": asset.origin},
            "version": version,
            "sha256": digest,
            "updated_at": iso_z(at),
            "last_used": old.get("last_used") if old is not None else None,
        }
    for path, used in (last_used or {}).items():
        entry = entries.get(path)
        if entry is None:
            continue
        before = parse_time(entry.get("last_used"))
        if before is None or used > before:
            entry["last_used"] = iso_z(used)
    return {"schema": SCHEMA, "assets": [entries[p] for p in sorted(entries)]}


def last_uses(entries: Iterable[Any], index: dict[str, Any]) -> dict[str, datetime]:
    """When each indexed asset was last read, from audit entries (oldest first).

    An asset counts as used by a draft of a phase that reads it, made after the asset was
    adopted: the first `learn.approved` entry listing it, else its `updated_at` in the index.
    """
    listed = {a["path"]: a for a in index.get("assets", [])}
    adopted: dict[str, datetime] = {}
    found: dict[str, datetime] = {}
    for entry in entries:
        at = entry.at
        if entry.action == "learn.approved":
            files = entry.payload_dict().get("files") or []
            for path in files if isinstance(files, list) else []:
                adopted.setdefault(str(path), at)
            continue
        if entry.action != "artifact.drafted":
            continue
        for path in USED_BY_PHASE.get(entry.phase or "", ()):
            if path not in listed:
                continue
            since = adopted.get(path) or parse_time(listed[path].get("updated_at"))
            if since is not None and at >= since:
                found[path] = at
    return found
