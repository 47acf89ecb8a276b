"""`orch mcp` as Codex configures it: settings through the environment, never the arguments."""

from __future__ import annotations

from bot.codex.mcp import orch_mcp_server, settings_env
from tests.conftest import make_settings


def test_the_server_entry_passes_the_deployment_through_its_environment(tmp_path) -> None:
    url = "postgresql://orch:s3cret-pass@db/orch"
    settings = make_settings(tmp_path, tmp_path, database_url=url, runs_dir=None)
    env = settings_env(settings, principal="codex:G-0001")
    entry = orch_mcp_server(env, python="/usr/bin/python3")
    assert entry["command"] == "/usr/bin/python3" and entry["args"] == ["-m", "bot", "mcp"]
    assert entry["env"]["ORCH_DATABASE_URL"] == url and "s3cret" not in " ".join(entry["args"])
    assert entry["env"]["ORCH_MCP_PRINCIPAL"] == "codex:G-0001"
    assert entry["env"]["ORCH_RUNS_DIR"] == str(tmp_path / ".runs")
    assert set(entry["env"]) <= {
        "ORCH_DATABASE_URL",
        "ORCH_DATA_DIR",
        "ORCH_REPO",
        "ORCH_RUNS_DIR",
        "ORCH_CONFIG",
        "ORCH_MCP_PRINCIPAL",
        "ORCH_APPROVERS",
        "ORCH_AGENT_BACKEND",
    }
