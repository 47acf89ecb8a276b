"""The bench's percentile math: nearest rank, never an invented value, honest tails."""

from __future__ import annotations

import pytest

from bench.stats import percentile, ratio, summarize


def test_the_median_of_an_odd_count_is_the_middle_value() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0


def test_a_percentile_is_always_one_of_the_samples() -> None:
    samples = [0.1, 0.2, 0.4, 0.8]
    for q in (0, 1, 25, 50, 75, 99, 100):
        assert percentile(samples, q) in samples


def test_p99_of_a_hundred_samples_is_the_ninety_ninth_smallest() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 99) == 99.0
    assert percentile(samples, 100) == 100.0


def test_p99_of_fewer_than_a_hundred_samples_is_the_largest() -> None:
    assert percentile([1.0, 2.0, 50.0], 99) == 50.0


def test_a_percentile_of_nothing_or_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summaries_are_in_milliseconds() -> None:
    summary = summarize([0.001, 0.002, 0.003])
    assert summary["n"] == 3 and summary["p50_ms"] == 2.0 and summary["max_ms"] == 3.0


def test_a_ratio_needs_both_values() -> None:
    assert ratio(6.0, 12.0) == 0.5
    assert ratio(None, 12.0) is None and ratio(6.0, 0.0) is None
