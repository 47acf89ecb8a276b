"""`orch --help` stays fast: building the help of every command imports none of the heavy libraries.

The commands import the database, Slack, agent and scheduler code when they run. A module-level
import in `bot/cli/__init__.py` or a `bot/cli/<area>_cmd.py` (a type annotation is enough) would load them for
every `orch` invocation, `--help` included. The check runs in a fresh interpreter, where
`sys.modules` shows exactly what the CLI loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What the help must not load: each of these costs tens of milliseconds or more at start-up.
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "slack_bolt",
    "slack_sdk",
    "agents",
    "openai",
    "mcp",
    "apscheduler",
    "jsonschema",
    "uvicorn",
    "starlette",
    "httpx",
    "asyncio",
    "storage",
    "bot.sop",
    "bot.app",
)

# Commands the walk must reach: one from each `bot/cli/<area>_cmd.py` besides the root's own.
REACHED = (
    "",
    "goal start",
    "goal spec",
    "audit verify",
    "tasks export-taskmaster",
    "learn",
    "jobs list",
    "runs show",
)

# Walks the real command tree and asks each command for its help, as `orch <path> --help` does.
PROBE = """
import contextlib, io, json, sys

import typer.main

from bot.cli import app


def paths(command, prefix):
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from paths(sub, [*prefix, name])


walked = list(paths(typer.main.get_command(app), []))
texts = {}
for path in walked:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        app([*path, "--help"], prog_name="orch", standalone_mode=False)
    texts[" ".join(path)] = out.getvalue()
print(json.dumps({"help": texts, "modules": sorted(sys.modules)}))
"""


def help_of_every_command() -> tuple[dict[str, str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    return report["help"], set(report["modules"])


def loaded(modules: set[str], package: str) -> bool:
    return package in modules or any(m.startswith(package + ".") for m in modules)


def test_help_of_every_command_loads_no_heavy_library() -> None:
    texts, modules = help_of_every_command()
    # The walk reached the groups every area adds, down to their subcommands.
    for path in REACHED:
        assert path in texts, f"`orch {path} --help` was not built"
        assert "Usage: orch" in texts[path], texts[path]
    assert "Check every entry's hash and link" in texts["audit verify"]
    heavy = [name for name in HEAVY if loaded(modules, name)]
    assert not heavy, f"building the CLI's help imported {heavy}; import them inside the commands"
