"""OpenAI Codex as the builder, in a goal's worktree.

- `binary`: where the `codex` executable is (settings, the project-local npm install, PATH).
- `app_server`: one turn through `codex app-server` (JSON-RPC over stdio), for builds and for the
  MCP server's `orch_run_codex` tool (bot/codex/on_goal.py): the goal's mode mapped onto Codex's
  sandbox and approval policy, streamed items, approval requests answered by a person
  (bot/services/codex_approvals.py), `turn/interrupt` for Stop, `turn/steer` for a follow-up, and
  a hanging model call cut off after the model timeout.
- `running`: the turns running in this process, so Stop can interrupt one and a reply steer it.
- `events`: Codex's events turned into progress (pure).
- `runner`: the environment, provider and shell environment policy every Codex run shares, and
  `run_codex`, one `codex exec --json` run, which the product no longer calls (builds and the
  MCP tool go through the app-server).

`codex mcp-server` was removed in Codex 0.154, so nothing here depends on it; the orchestrator's
own MCP server (`bot/agent_api/mcp_server.py`) offers a Codex tool instead. A remote executor (Codex Cloud)
would implement what `AppServerTurn` does for the builder: run one turn on a prepared checkout,
stream its items, forward approval requests and accept an interrupt.
"""
