"""How the outbox retries: backoff with jitter for hours, Retry-After honoured, permanent errors told
apart, a goal's later effects held behind one that waits or failed, and the failure message's shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.blocks.failures import (
    CANCEL_GOAL_ACTION,
    RETRY_ACTION,
    FailureButton,
    FailureRef,
    build_failure_message,
    decode_failure_value,
    encode_failure_value,
)
from bot.blocks.limits import check_message
from bot.effects.dispatcher import REPO, SLACK, WORK, split_lanes
from bot.effects.retry import Failure, RetryPolicy, classify
from storage.models import Effect

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _slack_error(status: int, data: Any, headers: dict[str, str] | None = None) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.invalid/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("The request to the Slack API failed.", response)


def test_the_backoff_doubles_up_to_its_cap_with_jitter_and_never_below_half_a_step() -> None:
    low, high = RetryPolicy(base=1, cap=300, rng=lambda: 0.0), RetryPolicy(base=1, cap=300, rng=lambda: 1.0)
    assert [low.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [high.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert high.delay(50) == 300 and low.delay(50) == 150


def test_retry_after_is_honoured_but_never_beyond_the_horizon() -> None:
    policy = RetryPolicy(base=1, cap=60, horizon=timedelta(hours=1), rng=lambda: 0.0)
    assert policy.delay(1, retry_after=30) == 30
    assert policy.delay(1, retry_after=99_999_999) == 3600


def test_transient_failures_are_retried_until_the_horizon_and_permanent_ones_fail_at_once() -> None:
    policy = RetryPolicy(horizon=timedelta(hours=6), rng=lambda: 0.5)
    transient = Failure("transient", "Slack answered HTTP 500")
    # Far more than the old six attempts: every attempt within six hours of the first failure.
    for attempts in (1, 6, 7, 40):
        when = policy.next_attempt(
            attempts=attempts, failing_since=NOW, now=NOW + timedelta(hours=5), failure=transient
        )
        assert when is not None and when > NOW + timedelta(hours=5)
    assert (
        policy.next_attempt(attempts=41, failing_since=NOW, now=NOW + timedelta(hours=6), failure=transient)
        is None
    )
    last = policy.next_attempt(
        attempts=40, failing_since=NOW, now=NOW + timedelta(hours=5, minutes=59), failure=transient
    )
    assert last == NOW + timedelta(hours=6)  # the last attempt is made when the horizon ends
    permanent = Failure("permanent", "Slack refused the call: invalid_auth")
    assert policy.next_attempt(attempts=1, failing_since=NOW, now=NOW, failure=permanent) is None


@pytest.mark.parametrize(
    ("error", "verdict", "says", "wait"),
    [
        (_slack_error(500, {"ok": False, "error": "http_500"}), "transient", "http_500", None),
        (_slack_error(200, {"ok": False, "error": "internal_error"}), "transient", "internal_error", None),
        (_slack_error(200, {"ok": False, "error": "fatal_error"}), "transient", "fatal_error", None),
        (
            _slack_error(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}),
            "transient",
            "ratelimited",
            30,
        ),
        (
            _slack_error(200, {"ok": False, "error": "channel_not_found"}),
            "permanent",
            "channel_not_found",
            None,
        ),
        (_slack_error(200, {"ok": False, "error": "invalid_auth"}), "permanent", "invalid_auth", None),
        (_slack_error(200, {"ok": False, "error": "not_in_channel"}), "permanent", "not_in_channel", None),
        # Shapes slack_sdk leaves behind for bodies that are not JSON objects.
        (_slack_error(502, "<html>502 Bad Gateway</html>"), "transient", "HTTP 502", None),
        (SlackApiError("not JSON", object()), "transient", "an unreadable answer", None),
        (TimeoutError(), "transient", "timed out", None),
        (ConnectionRefusedError(111, "Connection refused"), "transient", "could not connect", None),
    ],
)
def test_every_error_shape_is_classified_without_failing_itself(
    error: BaseException, verdict: str, says: str, wait: float | None
) -> None:
    failure = classify(error)
    assert (failure.verdict, failure.retry_after) == (verdict, wait)
    assert says in failure.reason


def _effects(*specs: tuple[str, str, datetime | None]) -> list[Effect]:
    return [
        Effect(
            id=i,
            key=f"e{i}",
            kind=kind,
            goal_id="G-0001",
            status=status,
            not_before=not_before,
            created_at=NOW,
        )
        for i, (kind, status, not_before) in enumerate(specs, 1)
    ]


def _keys(lanes: dict[tuple[str | None, str], list[Effect]]) -> dict[str, list[str]]:
    return {stream: [e.key for e in run] for (_goal, stream), run in lanes.items()}


def test_an_effect_waiting_for_its_retry_holds_back_the_later_effects_of_its_stream_and_the_work() -> None:
    later = NOW + timedelta(seconds=30)
    effects = _effects(
        ("slack.post_artifact", "pending", later),
        ("repo.publish_artifact", "pending", None),
        ("slack.update_card", "pending", None),
        ("draft", "pending", None),
    )
    assert _keys(split_lanes("G-0001", effects, NOW)) == {REPO: ["e2"]}
    assert _keys(split_lanes("G-0001", effects, later)) == {SLACK: ["e1", "e3"], REPO: ["e2"]}


def test_a_failed_effect_holds_back_its_goal_until_it_is_retried() -> None:
    effects = _effects(("repo.merge", "failed", None), ("slack.thread_note", "pending", None))
    effects[1].payload = {"after_repo": True}  # "done", said only once the commits are made
    assert split_lanes("G-0001", effects, NOW) == {}
    assert _keys(split_lanes("G-0001", effects[1:], NOW)) == {WORK: ["e2"]}


def test_the_failure_message_says_what_failed_and_offers_retry_cancel_and_extra_buttons() -> None:
    extra = FailureButton(action_id="orch_request_changes", text="Request changes", value="{}")
    blocks, text = build_failure_message(
        "G-0001",
        "committing an approved artifact failed",
        "Check the repository, then press Retry; or cancel the goal.",
        detail="Slack answered HTTP 500",
        retry=FailureRef(goal_id="G-0001", what="effect", id=42),
        actions=(extra,),
    )
    check_message(blocks)
    buttons = blocks[-1]["elements"]
    assert [b["action_id"] for b in buttons] == [RETRY_ACTION, "orch_request_changes", CANCEL_GOAL_ACTION]
    assert decode_failure_value(buttons[0]["value"]) == FailureRef("G-0001", "effect", 42)
    assert decode_failure_value(buttons[2]["value"]) == FailureRef("G-0001", "goal", None)
    assert "committing an approved artifact failed" in text and "Retry" in text
    assert "HTTP 500" in blocks[1]["elements"][0]["text"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x",
        "[]",
        '{"g":"G-1","w":"goal"}',
        '{"g":"G-0001","w":"rm -rf"}',
        '{"g":"G-0001","w":"effect","i":true}',
        '{"g":"G-0001","w":"goal","z":1}',
        "[" * 5000,
    ],
)
def test_a_failure_button_value_that_is_not_ours_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        decode_failure_value(value)
    assert decode_failure_value(encode_failure_value(FailureRef("G-0001", "job", 7))).id == 7
