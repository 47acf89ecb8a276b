"""Usage and cost where people look: the goal card, the digest's and `orch metrics`' line, budgets."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.blocks import build_goal_card
from bot.observability.usage import ModelPrice, sum_usage, usage_summary_line
from bot.services.budgets import Standing, budget_of, cost_line, parse_budget
from bot.services.errors import InvalidInput
from storage.models import Goal
from tests.conftest import make_settings
from tests.unit.test_blocks_goal_card import CARD

PRICES = {"m": ModelPrice(input=2.0, cached_input=1.0, output=8.0)}
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def write_run(
    root: Path, run_id: str, *, goal: str, started: datetime, usage: dict | None, model: str = "m"
) -> None:
    (root / run_id).mkdir(parents=True)
    meta = {
        "run_id": run_id,
        "goal_id": goal,
        "model": model,
        "started_at": started.isoformat(),
        "usage": usage,
    }
    (root / run_id / "run.json").write_text(json.dumps(meta), encoding="utf-8")


def test_the_card_shows_the_cost_against_the_budget_when_known() -> None:
    shown = json.dumps(build_goal_card(replace(CARD, cost="$0.42 of its $5.00 budget (8%)")))
    assert "Cost: $0.42 of its $5.00 budget (8%)" in shown
    assert "Cost:" not in json.dumps(build_goal_card(CARD))


def test_usage_is_summed_over_the_window_and_priced_from_the_table(tmp_path: Path) -> None:
    usage = {"input_tokens": 1_000_000, "cached_input_tokens": 500_000, "output_tokens": 100_000}
    write_run(tmp_path, "r1", goal="G-0001", started=NOW - timedelta(days=1), usage=usage)
    write_run(tmp_path, "r2", goal="G-0002", started=NOW - timedelta(days=1), usage=usage, model="other")
    write_run(tmp_path, "r3", goal="G-0001", started=NOW - timedelta(days=30), usage=usage)
    write_run(tmp_path, "r4", goal="G-0001", started=NOW - timedelta(hours=1), usage=None)
    week = sum_usage(tmp_path, PRICES, since=NOW - timedelta(days=7))
    # 500k uncached at $2, 500k cached at $1, 100k output at $8 = 1 + 0.5 + 0.8
    assert (week.runs, week.tokens.input, round(week.cost, 6), week.unpriced) == (
        2,
        2_000_000,
        2.3,
        {"other"},
    )
    assert usage_summary_line(week) == (
        "Model usage: 2 run(s), 2,000,000 input tokens (1,000,000 cached), 200,000 output tokens, "
        "$2.3000 (no price for other)"
    )
    assert sum_usage(tmp_path, PRICES, goal_id="G-0001").runs == 2


def test_a_goal_budget_is_its_own_or_the_default_and_its_line_says_the_share(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, tmp_path, goal_budget=10.0, prices=PRICES, runs_dir=tmp_path)
    goal = Goal(id="G-0001", title="t", brief="b", requester="U1", phase="prd", status="drafting")
    assert budget_of(goal, settings) == 10.0
    assert budget_of(replace_budget(goal, 3.0), settings) == 3.0
    assert Standing("G-0001", 2.4, 3.0).line() == "$2.40 of its $3.00 budget (80%)"
    assert Standing("G-0001", 3.0, 3.0).over and not Standing("G-0001", 2.9, 3.0).over
    assert Standing("G-0001", 0.25, None).line() == "$0.2500 spent (no budget)"
    write_run(
        tmp_path, "r1", goal="G-0001", started=NOW, usage={"input_tokens": 1_000_000, "output_tokens": 0}
    )
    assert cost_line(settings, goal) == "$2.00 of its $10.00 budget (20%)"


def replace_budget(goal: Goal, budget: float) -> Goal:
    copy = goal.model_copy()
    copy.budget_usd = budget
    return copy


@pytest.mark.parametrize("text", ["", "five", "0", "-3", "nan", "inf", "1e9"])
def test_a_budget_that_is_not_a_sensible_amount_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_budget(text)


def test_a_budget_may_be_written_with_a_dollar_sign() -> None:
    assert parse_budget("$12.50") == 12.5 and parse_budget("1,000") == 1000.0


def test_a_record_that_changes_or_goes_is_summed_as_it_is_now(tmp_path: Path) -> None:
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}
    write_run(tmp_path, "r1", goal="G-0001", started=NOW, usage=None)
    assert sum_usage(tmp_path, PRICES, goal_id="G-0001").runs == 0  # read once, and remembered
    meta = tmp_path / "r1" / "run.json"
    record = json.loads(meta.read_text(encoding="utf-8"))
    tmp = meta.with_suffix(".tmp")  # rewritten whole, as a run's recorder does
    tmp.write_text(json.dumps({**record, "usage": usage}), encoding="utf-8")
    tmp.replace(meta)
    write_run(tmp_path, "r2", goal="G-0001", started=NOW, usage=usage)
    assert round(sum_usage(tmp_path, PRICES, goal_id="G-0001").cost, 6) == 4.0
    (tmp_path / "r2" / "run.json").unlink()
    assert round(sum_usage(tmp_path, PRICES, goal_id="G-0001").cost, 6) == 2.0
