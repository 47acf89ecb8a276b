"""The agent-facing interfaces: what coding agents (Codex, an MCP client) call.

`mcp_server.py` is the orchestrator's own stdio MCP server (`orch mcp`): goals, artifacts, audit and
Codex runs over the same services Slack and the CLI use, and nothing there can approve.
`mcp_redaction.py` redacts tool arguments on the way in and results and errors on the way out.
"""
