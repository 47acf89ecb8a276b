"""Local model servers for tests: the other side of the wire for coding agents.

- `responses`: a scripted OpenAI **Responses API** server (`POST /v1/responses`, SSE replies),
  the only wire protocol the Codex CLI accepts. `python -m sandbox.models.responses --script F`.
- `chat`: a scripted **Chat Completions** server for drafting, with fault modes (HTTP 500,
  malformed or schema-invalid answers, a hang, an outage).

Like the rest of the sandbox, nothing here imports the bot.
"""

from sandbox.models.chat import ChatServer
from sandbox.models.responses import (
    ResponsesServer,
    apply_patch,
    exec_command,
    message,
)

__all__ = ["ChatServer", "ResponsesServer", "apply_patch", "exec_command", "message"]
