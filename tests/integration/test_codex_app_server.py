"""`codex app-server` driven by the builder: the real CLI against the scripted Responses server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.codex.app_server import ApprovalRequest, AppServerTurn
from bot.codex.binary import find_codex
from bot.codex.runner import CodexConfig
from sandbox.models import ResponsesServer, apply_patch, exec_command, message
from tests.conftest import init_repo

PROVIDER_KEY = "sk-proj-Pr0v1derKeyN0tF0rC0mmandsZx8Cv2Bn6Mq4Wn1Eb5Rc9Tv3Ym7"
ADD = "*** Begin Patch\n*** Add File: inside.txt\n+inside\n*** End Patch"

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    found = find_codex()
    if found is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    return found


def test_read_only_writes_only_inside_the_worktree_and_commands_never_see_the_key(
    tmp_path: Path, codex_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = init_repo(tmp_path / "repo")
    outside = tmp_path / "outside.txt"
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-abcdefABCDEF1234")
    script = [
        [apply_patch(ADD)],
        [
            exec_command(
                f"env > seen-env.txt; echo key=$ORCH_CODEX_API_KEY$OPENAI_API_KEY > key.txt; echo x > {outside}"
            )
        ],
        [exec_command("echo asked > asked.txt", escalate="Needs more than the sandbox")],
        [message("Done.")],
    ]
    asked: list[ApprovalRequest] = []

    def refuse(request: ApprovalRequest) -> bool:
        asked.append(request)
        return False

    with ResponsesServer(script) as server:
        config = CodexConfig(
            binary=codex_bin, model="gpt-5.5", provider_url=server.base_url, api_key=PROVIDER_KEY, timeout=60
        )
        turn = AppServerTurn(config, repo, "read-only", approve=refuse)
        result = turn.run("-s danger")
    assert result.ok, result.failure()
    assert (
        server.requests[0]["headers"].get("authorization") == f"Bearer {PROVIDER_KEY}"
    )  # Codex still has it
    assert (repo / "inside.txt").read_text() == "inside\n"  # written inside the worktree
    assert not outside.exists()  # the sandbox kept the write outside out
    seen = (repo / "seen-env.txt").read_text()
    assert "PATH=" in seen and "SLACK_BOT_TOKEN" not in seen and "ORCH_CODEX_API_KEY" not in seen
    assert PROVIDER_KEY not in seen and (repo / "key.txt").read_text() == "key=\n"
    # What needs more than the sandbox was asked for and, refused, not done.
    assert [(r.kind, r.reason) for r in asked] == [("command", "Needs more than the sandbox")]
    assert "echo asked > asked.txt" in asked[0].command and not (repo / "asked.txt").exists()
    assert any("asked.txt" in a and "refused" in a for a in result.progress.failed_actions)
    assert result.progress.usage is not None and result.progress.usage["output_tokens"] > 0
