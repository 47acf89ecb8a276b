"""The sandbox is the other side of the wire: it must not import the bot it stands in front of."""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

FORBIDDEN = {"bot", "handlers", "storage"}
# jwt: the GitHub stand-in verifies a GitHub App's signed JWT the way GitHub does.
ALLOWED_THIRD_PARTY = {"slack_sdk", "starlette", "uvicorn", "httpx", "jwt"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_sandbox_imports_only_the_stdlib_and_its_own_libraries() -> None:
    import sys

    files = sorted(Path(sandbox.__file__).parent.rglob("*.py"))
    assert files
    for path in files:
        roots = imported_roots(path)
        assert not roots & FORBIDDEN, f"{path.name} imports {roots & FORBIDDEN}"
        foreign = {r for r in roots if r not in sys.stdlib_module_names} - ALLOWED_THIRD_PARTY - {"sandbox"}
        assert not foreign, f"{path.name} imports {foreign}"
