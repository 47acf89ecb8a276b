"""The offline builder: an honest scaffold for a task when no coding agent is available.

For each Python file a task declares it writes a module whose docstring states the task and its
acceptance criteria and whose entry point raises `NotImplementedError`, plus a pytest file that
states the same criteria and is marked `xfail(strict=True, raises=NotImplementedError)`. The
suite stays green while the work is undone and turns red (XPASS) the moment someone implements
the stub without replacing the scaffold test, so nobody can mistake the scaffold for the work.

Declared paths come from a task list a person or a model wrote, so every one is checked before
anything is written (relative, inside the worktree even through symlinks, no `..`, no leading
`-`, no shell characters). Files a person wrote are never overwritten: only files carrying the
scaffold marker are ours to refresh. Git is left alone; the caller diffs and commits.
"""

from __future__ import annotations

import ast
import keyword
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bot.agents.paths import UnsafePathError, check_relative_path, slugify
from bot.sop.records import TaskRecord

MARKER = "orch-offline-scaffold"
MAX_TEXT = 300
# Files with a fixed role in Python tooling; a NotImplementedError stub would break them.
_SPECIAL = frozenset({"__init__.py", "__main__.py", "conftest.py", "setup.py", "noxfile.py"})


@dataclass(frozen=True)
class BuildResult:
    files_changed: list[str]
    summary: str
    kept: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _text(value: str) -> str:
    """Task text made safe inside a docstring: one line, no quotes or backslashes, clipped."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in value)
    cleaned = " ".join(cleaned.replace("\\", "/").replace('"', "'").split())
    return cleaned if len(cleaned) <= MAX_TEXT else cleaned[: MAX_TEXT - 1] + "…"


def _is_test(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.startswith("test_") or name.endswith("_test.py")


def _entry_point(module_path: str) -> str:
    stem = PurePosixPath(module_path).stem
    return stem if stem.isidentifier() and not keyword.iskeyword(stem) else "run"


def default_files(task: TaskRecord) -> list[str]:
    slug = slugify(task.title, fallback="task")
    return [f"src/{slug}.py", f"tests/test_{slug}.py"]


def _criteria(task: TaskRecord) -> list[str]:
    return [_text(c) for c in task.acceptance_criteria if _text(c)] or [
        "The behaviour described in the task title works and is covered by tests."
    ]


def _reason(task: TaskRecord) -> str:
    return f"offline scaffold: implement task {_text(str(task.id))} ({_text(task.title)})"


def module_source(task: TaskRecord, module_path: str) -> str:
    criteria = "\n".join(f"- {c}" for c in _criteria(task))
    func = _entry_point(module_path)
    return (
        f'"""{_text(task.title) or "Task " + _text(str(task.id))}\n\n'
        f"Task {_text(str(task.id))}. Acceptance criteria:\n\n{criteria}\n\n"
        "This is an offline scaffold, not an implementation.\n"
        '"""\n\n'
        f"# {MARKER}: replace this file's body when implementing the task.\n\n\n"
        f"def {func}(*args: object, **kwargs: object) -> object:\n"
        f'    """Entry point for task {_text(str(task.id))}; not implemented yet."""\n'
        f"    raise NotImplementedError({_reason(task)!r})\n"
    )


def scaffold_test_source(task: TaskRecord, test_path: str, module_path: str | None) -> str:
    # The module is loaded by its path relative to the test file, so the scaffold runs in any
    # layout without touching sys.path or packaging.
    test_name = f"test_{slugify(f'task {task.id}', max_words=6)}_meets_its_acceptance_criteria"
    head = [
        f'"""Scaffold tests for task {_text(str(task.id))}: {_text(task.title)}.\n\n'
        'Strict xfail: they must fail until the task is implemented, then be replaced."""',
        "",
        f"# {MARKER}: replace these tests with real ones when implementing the task.",
        "",
    ]
    lines = [*head, "import importlib.util", "from pathlib import Path", "", "import pytest", ""]
    lines.append(f"ACCEPTANCE_CRITERIA = {_criteria(task)!r}")
    if module_path is not None:
        rel = os.path.relpath(module_path, start=str(PurePosixPath(test_path).parent) or ".")
        lines += [
            f"MODULE_PATH = Path(__file__).resolve().parent / {PurePosixPath(rel).as_posix()!r}",
            "",
            "",
            "def _load_module():",
            f"    spec = importlib.util.spec_from_file_location({PurePosixPath(module_path).stem!r}, MODULE_PATH)",
            "    assert spec is not None and spec.loader is not None",
            "    module = importlib.util.module_from_spec(spec)",
            "    spec.loader.exec_module(module)",
            "    return module",
        ]
        body = [f"    _load_module().{_entry_point(module_path)}()"]
    else:
        body = [f"    raise NotImplementedError({_reason(task)!r})"]
    lines += [
        "",
        "",
        f"@pytest.mark.xfail(strict=True, raises=NotImplementedError, reason={_reason(task)!r})",
        f"def {test_name}():",
        '    """Each acceptance criterion in ACCEPTANCE_CRITERIA holds."""',
        "    assert ACCEPTANCE_CRITERIA",
        *body,
    ]
    return "\n".join(lines) + "\n"


def doc_source(task: TaskRecord) -> str:
    criteria = "\n".join(f"- [ ] {c}" for c in _criteria(task))
    return (
        f"<!-- {MARKER} -->\n# {_text(task.title)}\n\n"
        f"Task {_text(str(task.id))}, offline scaffold: to be written.\n\n## Acceptance criteria\n\n{criteria}\n"
    )


def _pair(modules: list[str], tests: list[str]) -> dict[str, str]:
    """A test file per module: the declared `test_<name>.py` first, then any declared test left
    over, then a new `tests/test_<name>.py` (numbered if two modules share a name)."""
    free = list(tests)
    pairs: dict[str, str] = {}
    for module in modules:
        wanted = f"test_{PurePosixPath(module).name}"
        match = next((t for t in free if PurePosixPath(t).name == wanted), None)
        if match is not None:
            pairs[module] = match
            free.remove(match)
    taken = set(modules) | set(tests)
    for module in modules:
        if module in pairs:
            continue
        if free:
            pairs[module] = free.pop(0)
            continue
        stem, n = f"tests/test_{PurePosixPath(module).stem}", 1
        candidate = f"{stem}.py"
        while candidate in taken:
            n += 1
            candidate = f"{stem}_{n}.py"
        taken.add(candidate)
        pairs[module] = candidate
    return {m: pairs[m] for m in modules}


def plan_files(task: TaskRecord) -> tuple[dict[str, str], list[str]]:
    """The files to write (path → content) and the declared paths no scaffold exists for.

    Raises `UnsafePathError` when any declared path is unsafe, before anything is planned.
    """
    paths = list(dict.fromkeys(check_relative_path(p) for p in (task.files or default_files(task))))
    python = [p for p in paths if p.endswith(".py") and PurePosixPath(p).name not in _SPECIAL]
    modules = [p for p in python if not _is_test(p)]
    tests = [p for p in python if _is_test(p)]
    planned: dict[str, str] = {}
    for module, test in _pair(modules, tests).items():
        planned[module] = module_source(task, module)
        planned[test] = scaffold_test_source(task, test, module)
    for test in tests:
        planned.setdefault(test, scaffold_test_source(task, test, None))
    for doc in (p for p in paths if p.endswith(".md")):
        planned[doc] = doc_source(task)
    skipped = [p for p in paths if p not in planned]
    for path, source in planned.items():
        if path.endswith(".py"):
            ast.parse(source, filename=path)  # a hostile title must never yield broken Python
    return planned, skipped


def _target(root: Path, rel: str) -> Path:
    """The file for `rel`, refused if a symlink on the way leads it out of the worktree."""
    target = root / rel
    if target.is_symlink():
        raise UnsafePathError(f"unsafe path {rel!r}: is a symlink")
    try:
        target.resolve().relative_to(root)
    except ValueError:
        raise UnsafePathError(f"unsafe path {rel!r}: leads outside the worktree") from None
    return target


class OfflineBuilder:
    name = "offline"

    def build(self, worktree: Path, task: TaskRecord) -> BuildResult:
        root = worktree.resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"worktree {worktree} does not exist")
        planned, skipped = plan_files(task)
        targets = {rel: _target(root, rel) for rel in planned}  # every check before any write

        changed: list[str] = []
        kept: list[str] = []
        for rel, source in planned.items():
            target = targets[rel]
            if target.exists():
                current = target.read_text(encoding="utf-8", errors="replace")
                if current == source:
                    continue
                if MARKER not in current:
                    kept.append(rel)  # a person's file: never overwritten
                    continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8", newline="\n")
            changed.append(rel)
        return BuildResult(
            files_changed=changed, summary=_summary(task, changed, kept, skipped), kept=kept, skipped=skipped
        )


def _summary(task: TaskRecord, changed: list[str], kept: list[str], skipped: list[str]) -> str:
    head = f"Offline scaffold for task {_text(str(task.id))} (“{_text(task.title)}”): "
    parts = [
        (
            f"wrote {', '.join(changed)}; stubs raise NotImplementedError and the tests are strict "
            "xfail until the task is really implemented"
        )
        if changed
        else "no changes, the scaffold is already in place"
    ]
    if kept:
        parts.append(f"left existing files untouched: {', '.join(kept)}")
    if skipped:
        parts.append(f"no scaffold for: {', '.join(skipped)}")
    return head + "; ".join(parts) + "."
