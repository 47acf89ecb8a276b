"""Limits the MCP tools share with their declarations (kept apart so the server's declarations and
the tools' bodies, loaded on the first call, import neither one the other)."""

MAX_CONTENT = 60_000  # the longest artifact (Markdown characters) a tool accepts
