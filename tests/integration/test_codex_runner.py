"""The Codex runner: the real `codex exec --json` against the scripted Responses server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.codex.binary import find_codex
from bot.codex.runner import CodexConfig, CodexNotConfigured, run_codex
from sandbox.models import ResponsesServer, apply_patch, exec_command, message
from tests.conftest import init_repo, make_settings

ADD = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch"

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    found = find_codex()
    if found is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    return found


def config(codex_bin: Path, server: ResponsesServer, timeout: float = 60) -> CodexConfig:
    return CodexConfig(binary=codex_bin, model="gpt-5.5", provider_url=server.base_url, timeout=timeout)


def test_workspace_write_lets_codex_patch_and_run_commands_without_the_bots_secrets(
    tmp_path: Path, codex_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = init_repo(tmp_path / "repo")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-abcdefABCDEF1234")
    monkeypatch.setenv("ORCH_DATABASE_URL", "postgresql://orch:hunter2hunter2@db/orch")
    script = [[apply_patch(ADD)], [exec_command("env > seen-env.txt")], [message("Added hello.txt.")]]
    updates: list[str] = []
    with ResponsesServer(script) as server:
        result = run_codex(
            config(codex_bin, server),
            worktree=repo,
            mode="workspace-write",
            prompt="-s danger",
            on_progress=lambda update, _state: updates.append(update),
        )
    assert result.ok, result.failure()
    assert (repo / "hello.txt").read_text() == "hello\n"
    assert result.progress.files == ["hello.txt"] and result.progress.final_message == "Added hello.txt."
    assert updates == [
        "Codex started",
        "Codex changed hello.txt",
        "Codex ran `env > seen-env.txt` (exit 0)",
        "Codex finished",
    ]
    assert result.progress.usage is not None and result.progress.usage["output_tokens"] > 0
    seen = (repo / "seen-env.txt").read_text()
    assert "SLACK_BOT_TOKEN" not in seen and "ORCH_DATABASE_URL" not in seen
    codex_home = next(line.split("=", 1)[1] for line in seen.splitlines() if line.startswith("CODEX_HOME="))
    assert not Path(codex_home).exists()  # the throwaway home is gone after the run
    # A prompt that looks like an option went in on stdin, as the user's text.
    first_input = server.requests[0]["body"]["input"]
    assert any(
        part.get("text") == "-s danger"
        for item in first_input
        for part in item.get("content", [])
        if isinstance(part, dict)
    )


def test_read_only_mode_keeps_codex_from_writing(tmp_path: Path, codex_bin: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    script = [[apply_patch(ADD)], [exec_command("echo x > made.txt")], [message("Tried.")]]
    with ResponsesServer(script) as server:
        result = run_codex(config(codex_bin, server), worktree=repo, mode="read-only", prompt="write")
    outputs = server.tool_outputs()
    assert "read-only sandbox" in outputs[0] and "Read-only file system" in outputs[1]
    assert not (repo / "hello.txt").exists() and not (repo / "made.txt").exists()
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == "" and result.progress.files == []


def test_a_run_past_its_deadline_is_killed(tmp_path: Path, codex_bin: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    # The command outlives the deadline by far; the runner must not wait for it.
    with ResponsesServer([[exec_command("sleep 120")], [message("never")]]) as server:
        result = run_codex(
            config(codex_bin, server, timeout=3), worktree=repo, mode="workspace-write", prompt="go"
        )
    assert result.timed_out and not result.ok and "did not finish in time" in result.failure()


def test_codex_without_a_provider_is_refused_before_it_starts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, tmp_path, builder="codex")
    with pytest.raises(CodexNotConfigured, match="ORCH_CODEX_PROVIDER_URL"):
        CodexConfig.from_settings(settings)


PROVIDER_KEY = "sk-proj-Pr0v1derKeyN0tF0rC0mmandsZx8Cv2Bn6Mq4Wn1Eb5Rc9Tv3Ym7"


def test_commands_codex_runs_never_see_the_provider_key(
    tmp_path: Path, codex_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codex authenticates with the key, but `env` in its sandbox and a file written from the
    variable show nothing of it."""
    repo = init_repo(tmp_path / "repo")
    monkeypatch.setenv("OPENAI_API_KEY", PROVIDER_KEY)
    script = [
        [exec_command("env > seen-env.txt")],
        [exec_command('echo "key=$ORCH_CODEX_API_KEY $OPENAI_API_KEY" > key.txt')],
        [message("Done.")],
    ]
    with ResponsesServer(script) as server:
        cfg = CodexConfig(
            binary=codex_bin, model="gpt-5.5", provider_url=server.base_url, api_key=PROVIDER_KEY, timeout=60
        )
        result = run_codex(cfg, worktree=repo, mode="workspace-write", prompt="show me the environment")
    assert result.ok, result.failure()
    # Codex itself still sent the key to its provider.
    assert server.requests[0]["headers"].get("authorization") == f"Bearer {PROVIDER_KEY}"
    seen = (repo / "seen-env.txt").read_text()
    assert "PATH=" in seen  # the command really ran with an environment
    written = (repo / "key.txt").read_text()
    outputs = "\n".join(server.tool_outputs())
    for place in (seen, written, outputs):
        assert PROVIDER_KEY not in place and PROVIDER_KEY[:12] not in place
    assert "ORCH_CODEX_API_KEY" not in seen
