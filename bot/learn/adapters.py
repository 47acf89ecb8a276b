"""Reading the adapters a target repository keeps under `adapters/` (written by `orch learn`).

Readers here never fail the caller: a missing, unreadable or malformed adapter means "no adapter",
and the caller falls back to its built-in detection. This module imports nothing from `bot.sop`,
so the scaffold check can consult it without an import cycle.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

TESTS_ADAPTER = "adapters/tests.toml"
MAX_ADAPTER_BYTES = 64 * 1024
_FORBIDDEN = set("\n\r\x00")


@dataclass(frozen=True)
class TestCommand:
    command: str
    source: str  # the adapter file it was read from

    __test__ = False  # not a pytest test class, despite the name


def read_test_command(repo: str | Path) -> TestCommand | None:
    """The `[tests] command` of `adapters/tests.toml`, or None when there is no usable one."""
    root = Path(repo)
    path = root / TESTS_ADAPTER
    if not path.is_file():
        return None
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        log.warning("ignoring %s: it points outside the repository", TESTS_ADAPTER)
        return None
    data = path.read_bytes()
    if len(data) > MAX_ADAPTER_BYTES:
        log.warning("ignoring %s: larger than %d bytes", TESTS_ADAPTER, MAX_ADAPTER_BYTES)
        return None
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        log.warning("ignoring %s: %s", TESTS_ADAPTER, exc)
        return None
    tests = parsed.get("tests")
    command = tests.get("command") if isinstance(tests, dict) else None
    # One line only: the command is shown in Slack and run as one step.
    if not isinstance(command, str) or not command.strip() or _FORBIDDEN & set(command):
        return None
    return TestCommand(command=command.strip(), source=TESTS_ADAPTER)
