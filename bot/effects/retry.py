"""How the outbox retries an effect that failed: which errors are worth retrying, and when.

An outage of Slack or of the repository must not use up an effect's chances in a minute: a
transient error (HTTP 5xx, `ok:false` with `internal_error`, a 429, a timeout, a refused
connection) is retried with capped exponential backoff and full jitter until the effect has been
failing for `horizon` (hours by default), and a `Retry-After` the server sent is honoured. An
error no retry can fix (a revoked token, a malformed request) fails the effect at once, so a
person is told now rather than after hours.

Pure: the caller passes the time and the random source.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.sop.effect_kinds import MalformedPayload

Verdict = Literal["transient", "permanent"]

# Slack errors that no retry fixes: the request or the app's installation is wrong.
PERMANENT_SLACK = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "invalid_arg_name",
        "msg_too_long",
        "too_many_attachments",
        "no_text",
        "cant_update_message",
        "message_not_found",
        "edit_window_closed",
        "is_inactive",
        "restricted_action",
        "unknown_method",
        "method_deprecated",
        "deprecated_endpoint",
        "team_access_not_granted",
    }
)
# Slack errors a person fixes by acting on the channel; the Slack effects tell them and wait.
PERSON_MUST_ACT = frozenset({"is_archived", "not_in_channel", "channel_not_found"})


@dataclass(frozen=True)
class Failure:
    """What went wrong, in a line a person can read, and whether retrying can help."""

    verdict: Verdict
    reason: str
    retry_after: float | None = None  # seconds the server asked us to wait, if it said


def slack_error_code(exc: BaseException) -> str | None:
    """The `error` of a Slack API failure, whatever shape its body had (None if it had none).

    `SlackApiError.response` is usually a SlackResponse whose data is a dict, but a non-JSON body
    leaves a str, bytes or even the raw HTTP response there; `.get` on those raised
    `AttributeError: 'str' object has no attribute 'get'` from inside the error path.
    """
    response = getattr(exc, "response", None)
    data = getattr(response, "data", response)
    if isinstance(data, dict):
        error = data.get("error")
        return str(error) if error else None
    return None


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return value
    return None


def header_retry_after(exc: BaseException) -> float | None:
    """The Retry-After (seconds) a failed Slack call carried, if it is a plain non-negative number."""
    response = getattr(exc, "response", None)
    headers: Any = getattr(response, "headers", None) or {}
    try:
        items = list(headers.items())
    except AttributeError:
        return None
    for name, value in items:
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                seconds = float(str(raw).strip())
            except ValueError:
                return None
            return seconds if seconds >= 0 else None
    return None


def classify(exc: BaseException) -> Failure:
    """Tell a transient failure from a permanent one (anything unknown is retried: losing a post
    to a misread error is worse than retrying one that cannot succeed until the horizon)."""
    from slack_sdk.errors import SlackApiError

    name = type(exc).__name__
    if isinstance(exc, SlackApiError):
        code = slack_error_code(exc)
        status = http_status(exc)
        wait = header_retry_after(exc)
        if code in PERMANENT_SLACK:
            return Failure("permanent", f"Slack refused the call: {code}")
        if code in PERSON_MUST_ACT:
            return Failure("permanent", f"Slack refused the call: {code}")
        shown = code or (f"HTTP {status}" if status else "an unreadable answer")
        return Failure(
            "transient", f"Slack answered {shown}", wait if status == 429 or code == "ratelimited" else None
        )
    if isinstance(exc, MalformedPayload):
        return Failure("permanent", str(exc)[:500])
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return Failure("transient", "the call timed out")
    if isinstance(exc, ConnectionError | OSError):
        return Failure("transient", f"could not connect ({name}: {str(exc)[:200]})")
    return Failure("transient", f"{name}: {str(exc)[:500]}")


def is_timeout(exc: BaseException) -> bool:
    """A call that may have been carried out although we never saw its answer."""
    return isinstance(exc, TimeoutError | asyncio.TimeoutError)


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter, for at most `horizon` after the first failure."""

    base: float = 1.0  # seconds before the first retry (before jitter)
    cap: float = 300.0  # the longest wait between two attempts
    horizon: timedelta = timedelta(hours=6)
    # After a timeout the call may still land: wait this long before looking for it and retrying.
    after_timeout: float = 30.0
    rng: Callable[[], float] = field(default=random.random)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th attempt failed; never less than Retry-After."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        # "Full jitter" spreads retries of many effects after an outage, but never below half the
        # step, so a retry is not made at once.
        wait = ceiling / 2 + self.rng() * ceiling / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.horizon.total_seconds()))
        return wait

    def next_attempt(
        self,
        *,
        attempts: int,
        failing_since: datetime,
        now: datetime,
        failure: Failure,
    ) -> datetime | None:
        """When to try again, or None when the effect has finally failed."""
        if failure.verdict == "permanent":
            return None
        deadline = failing_since + self.horizon
        if now >= deadline:
            return None
        # The last attempt is made when the horizon ends, not up to a whole backoff step later.
        return min(now + timedelta(seconds=self.delay(attempts, failure.retry_after)), deadline)
