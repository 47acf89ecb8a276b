"""OpenAI Codex as the builder: the CLI driven with `codex exec --json` in a goal's worktree.

- `binary`: where the `codex` executable is (settings, the project-local npm install, PATH).
- `events`: Codex's JSON events turned into progress (pure).
- `runner`: one `codex exec` run with a throwaway `CODEX_HOME`, a provider from configuration and
  the sandbox mode the goal was granted.

`codex mcp-server` was removed in Codex 0.154, so nothing here depends on it; the orchestrator's
own MCP server (`bot/mcp_server.py`) offers a Codex tool instead.
"""
