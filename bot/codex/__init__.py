"""OpenAI Codex as the builder, in a goal's worktree.

- `binary`: where the `codex` executable is (settings, the project-local npm install, PATH).
- `app_server`: one build turn through `codex app-server` (JSON-RPC over stdio): the goal's mode
  mapped onto Codex's sandbox and approval policy, streamed items, approval requests answered by
  a person (bot/services/codex_approvals.py), `turn/interrupt` for Stop.
- `running`: the turns running in this process, so Stop can interrupt one.
- `events`: Codex's events turned into progress (pure).
- `runner`: one `codex exec --json` run (the MCP server's `orch_run_codex` tool), and the
  environment, provider and shell environment policy both ways of running Codex share.

`codex mcp-server` was removed in Codex 0.154, so nothing here depends on it; the orchestrator's
own MCP server (`bot/agent_api/mcp_server.py`) offers a Codex tool instead. A remote executor (Codex Cloud)
would implement what `AppServerTurn` does for the builder: run one turn on a prepared checkout,
stream its items, forward approval requests and accept an interrupt.
"""
