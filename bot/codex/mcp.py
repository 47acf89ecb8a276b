"""This product's MCP server (`orch mcp`) as Codex configures it (`mcp_servers.orch`).

With `ORCH_CODEX_MCP` on, a build's Codex can read goals and the audit trail through the product's
own tools (their annotations say they only read, so Codex's default approval policy lets them run).
The server gets the settings it needs through its environment, never through its arguments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings

# What `orch mcp` needs to find the database, the repository and its run records, and who it acts as.
PASSED = (
    "ORCH_DATABASE_URL",
    "ORCH_DATA_DIR",
    "ORCH_REPO",
    "ORCH_RUNS_DIR",
    "ORCH_CONFIG",
    "ORCH_MCP_PRINCIPAL",
    "ORCH_APPROVERS",
    "ORCH_AGENT_BACKEND",
)


def orch_mcp_server(env: Mapping[str, str], *, python: str | None = None) -> dict[str, Any]:
    """The `mcp_servers.orch` entry: `python -m bot mcp` with the ORCH_ settings of `env`."""
    return {
        "command": python or sys.executable,
        "args": ["-m", "bot", "mcp"],
        "env": {name: str(env[name]) for name in PASSED if env.get(name)},
        "cwd": os.getcwd(),
        "startup_timeout_sec": 30,
    }


def settings_env(settings: Settings, *, principal: str) -> dict[str, str]:
    """The ORCH_ variables that point `orch mcp` at this deployment (from the process's settings)."""
    from bot.observability.runs import runs_dir_for

    env = {
        "ORCH_DATABASE_URL": str(settings.database_url or ""),
        "ORCH_REPO": str(settings.repo or ""),
        "ORCH_RUNS_DIR": str(runs_dir_for(settings)),
        "ORCH_MCP_PRINCIPAL": principal,
        "ORCH_AGENT_BACKEND": "offline",
    }
    for name in ("ORCH_CONFIG", "ORCH_DATA_DIR", "ORCH_APPROVERS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return {k: v for k, v in env.items() if v}
