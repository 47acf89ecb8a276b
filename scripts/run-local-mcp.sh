#!/usr/bin/env bash
# Start the orchestrator's MCP server on stdio (goals, artifacts, approvals, audit, Codex).
# Point any MCP client at this script, e.g. in Codex's config.toml:
#   [mcp_servers.orch]
#   command = "/path/to/checkout/scripts/run-local-mcp.sh"
# Configuration comes from the environment and orch.toml as for every `orch` command
# (ORCH_DATABASE_URL, ORCH_REPO, ORCH_CODEX_PROVIDER_URL…). Stdout is the protocol channel.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$root/.venv/bin/orch" ]]; then
  exec "$root/.venv/bin/orch" mcp "$@"
fi
exec orch mcp "$@"
