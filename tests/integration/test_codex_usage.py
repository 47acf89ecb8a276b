"""Usage of Codex builds: the scripted server's token counts, summed per goal, times the price table."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.agents.implement import implement_task
from bot.cli import app
from bot.codex.binary import find_codex
from bot.observability.usage import ModelPrice, Tokens, cost, goal_usage
from bot.repo.git import ensure_repo
from bot.sop.records import TaskRecord
from sandbox.models import ResponsesServer, apply_patch, exec_command, message
from tests.conftest import init_repo, make_settings

PRICES = {"gpt-5.5": {"input": 1.25, "cached_input": 0.125, "output": 10.0}}
SCRIPT = [
    [apply_patch("*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch")],
    [exec_command("echo b > b.txt")],
    [message("Added a.txt and b.txt.")],
]

pytestmark = pytest.mark.slow


def test_cost_prices_cached_input_at_its_own_rate() -> None:
    price = ModelPrice(input=2.0, cached_input=0.5, output=8.0)
    assert cost(Tokens(input=1_000_000, cached_input=400_000, output=500_000), price) == pytest.approx(
        600_000 * 2.0 / 1e6 + 400_000 * 0.5 / 1e6 + 4.0
    )
    assert cost(Tokens(input=10, output=0), ModelPrice(input=1.0, output=1.0)) == pytest.approx(10 / 1e6)


def test_two_builds_of_a_goal_sum_to_the_servers_counts_times_the_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codex = find_codex()
    if codex is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    repo = init_repo(tmp_path / "repo")
    runs = tmp_path / "runs"
    task = TaskRecord(id=1, title="Add two files", description="a.txt and b.txt")
    requests = 0
    worktree = ensure_repo(repo).worktree_add("G-0001")
    for _attempt in (1, 2):  # the second build redoes the first in the same worktree
        with ResponsesServer(SCRIPT) as model:
            settings = make_settings(
                tmp_path,
                repo,
                builder="codex",
                codex_bin=str(codex),
                codex_provider_url=model.base_url,
                runs_dir=runs,
                prices=PRICES,
            )
            implement_task(
                settings=settings,
                goal_id="G-0001",
                task=task,
                worktree=worktree,
                feedback=None,
                mode="read-only",
            )
            requests += len(model.requests)
    # The scripted server reports 100 input tokens per request and 10 output tokens per output item.
    items = sum(len(step) for step in SCRIPT)
    expected = Tokens(input=100 * requests, cached_input=0, output=2 * 10 * items)
    used = goal_usage(runs, "G-0001", settings.prices)
    assert used.runs == 2 and used.tokens == expected and not used.unpriced
    assert used.cost == pytest.approx((expected.input * 1.25 + expected.output * 10.0) / 1e6)
    assert goal_usage(runs, "G-0002", settings.prices).runs == 0

    monkeypatch.setenv("ORCH_RUNS_DIR", str(runs))
    monkeypatch.setenv("ORCH_PRICES", '{"gpt-5.5": {"input": 1.25, "cached_input": 0.125, "output": 10.0}}')
    shown = CliRunner().invoke(app, ["runs", "usage", "g-0001"])
    assert shown.exit_code == 0, shown.output
    assert f"G-0001: 2 run(s), {expected.input:,} input tokens" in shown.output
    assert f"${used.cost:.4f}" in shown.output
