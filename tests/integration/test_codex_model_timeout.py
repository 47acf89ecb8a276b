"""A model that never answers is cut off after the model timeout, not after the whole run's.

The real `codex app-server` against a Responses server that records the request and never answers:
with a 2 s model timeout (and a 120 s run timeout), the turn is interrupted and fails saying why.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.codex.app_server import AppServerTurn, provider_config
from bot.codex.runner import CodexConfig
from sandbox.models import ResponsesServer
from tests.support.codex import codex_or_skip

pytestmark = pytest.mark.slow


def test_a_hanging_model_call_fails_the_turn_after_the_model_timeout(tmp_path: Path) -> None:
    codex_bin = codex_or_skip()
    worktree = tmp_path / "work"
    subprocess.run(["git", "init", "-q", str(worktree)], check=True)
    with ResponsesServer([]) as model:
        model.hang = True
        config = CodexConfig(
            binary=codex_bin.resolve(), model="gpt-5.5", provider_url=model.base_url, timeout=120, model_timeout=2
        )
        turn = AppServerTurn(config, worktree, "read-only")
        result = turn.run("Say hello.")
    assert len(model.requests) >= 1  # the call was made, and left unanswered
    assert not result.ok and not result.timed_out  # cut off by the model timeout, not the run's
    assert turn.model_timed_out
    assert result.failure() == (
        "Codex failed: the model did not answer within 2 s (ORCH_MODEL_TIMEOUT), so the turn was cut off"
    )


def test_codex_gives_up_on_a_silent_stream_after_the_model_timeout_too() -> None:
    config = CodexConfig(binary=Path("codex"), model="m", provider_url="http://127.0.0.1:1/v1", model_timeout=30)
    provider = provider_config(config)["model_providers"]["orch"]
    assert provider["stream_idle_timeout_ms"] == 30_000
    assert provider["request_max_retries"] == 1 and provider["stream_max_retries"] == 1
