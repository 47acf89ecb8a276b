"""JSON log lines: one object per line, the request/goal/actor context where known, no secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.observability.logging import (
    CONTEXT_FIELDS,
    JsonFormatter,
    bind_log_context,
    configure_logging,
    current_context,
    log_context,
)
from bot.redact import install_log_redaction

SLACK_TOKEN = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
OPENAI_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6l"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with the product's formatter and redaction filter, writing to a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("orch.test.logging")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    install_log_redaction(logger)
    yield logger, out
    logger.handlers = []
    logger.filters = []


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_record_is_one_json_object_with_time_level_logger_and_message(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = captured
    logger.info("goal %s started", "G-0001")
    [line] = lines(out)
    assert line["msg"] == "goal G-0001 started"
    assert line["level"] == "info" and line["logger"] == "orch.test.logging"
    assert str(line["at"]).endswith("+00:00")


def test_secrets_in_the_message_its_arguments_and_a_traceback_are_redacted(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = captured
    logger.warning("posting with token " + SLACK_TOKEN)
    logger.warning("key %s rejected", OPENAI_KEY)
    try:
        raise RuntimeError(f"upstream said: bad key {OPENAI_KEY}")
    except RuntimeError:
        logger.exception("call failed for %s", SLACK_TOKEN)
    text = out.getvalue()
    assert SLACK_TOKEN not in text and OPENAI_KEY not in text
    assert "xoxb-[REDACTED:" in text and "[REDACTED:" in lines(out)[2]["exc"]  # type: ignore[operator]


def test_the_formatter_alone_redacts_even_without_the_filter() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", (SLACK_TOKEN,), None)
    line = json.loads(JsonFormatter().format(record))
    assert SLACK_TOKEN not in json.dumps(line)


def test_bound_context_appears_on_every_line_inside_the_block_and_not_after(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = captured
    with log_context(request_id="r-1", actor="U_APP1"):
        logger.info("inside")
        with log_context(goal_id="G-0007"):
            logger.info("nested")
    logger.info("after")
    inside, nested, after = lines(out)
    assert (inside["request_id"], inside["actor"]) == ("r-1", "U_APP1") and "goal_id" not in inside
    assert (nested["request_id"], nested["actor"], nested["goal_id"]) == ("r-1", "U_APP1", "G-0007")
    assert not set(CONTEXT_FIELDS) & set(after)


def test_an_explicit_extra_wins_over_the_bound_context(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    with log_context(goal_id="G-0001"):
        logger.info("about another goal", extra={"goal_id": "G-0002"})
    assert lines(out)[0]["goal_id"] == "G-0002"


def test_context_values_are_redacted_and_clipped_and_unknown_fields_refused(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = captured
    with log_context(actor=SLACK_TOKEN + "x" * 500):
        logger.info("hostile actor id")
    actor = str(lines(out)[0]["actor"])
    assert SLACK_TOKEN not in actor and len(actor) <= 120
    with pytest.raises(ValueError, match="unknown log context"), log_context(password="hunter2"):
        pass


def test_the_context_follows_a_request_into_tasks_and_worker_threads() -> None:
    async def read() -> dict[str, str]:
        return current_context()

    async def request() -> tuple[dict[str, str], dict[str, str]]:
        bind_log_context(request_id="r-9", actor="U_REQ")
        in_task = await asyncio.create_task(read())
        in_thread = await asyncio.to_thread(current_context)
        return in_task, in_thread

    in_task, in_thread = asyncio.run(request())
    assert in_task == in_thread == {"request_id": "r-9", "actor": "U_REQ"}
    assert current_context() == {}  # the request's binding did not leak into the caller


def test_configure_logging_installs_json_lines_with_redaction_on_the_root_logger(
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), list(root.filters))
    try:
        configure_logging("INFO")
        with log_context(goal_id="G-0042"):
            logging.getLogger("bot.effects").info("retrying with %s", SLACK_TOKEN)
        err = capfd.readouterr().err
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        root.filters[:] = saved[2]
    [line] = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert line["goal_id"] == "G-0042" and SLACK_TOKEN not in err
