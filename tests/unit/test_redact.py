"""Behaviour of the one redaction function family, driven by the fake-secret corpus."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.redact import (
    Finding,
    RedactingFilter,
    find_secrets,
    install_log_redaction,
    redact,
    redact_obj,
    secret_name_kind,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "secrets"
POSITIVES: list[dict[str, str]] = yaml.safe_load((CORPUS / "positive.yaml").read_text(encoding="utf-8"))
NEGATIVES: list[str] = yaml.safe_load((CORPUS / "negative.yaml").read_text(encoding="utf-8"))


def _id(case: dict[str, str]) -> str:
    return f"{case['kind']}:{case['text'][:30]}"


def test_the_corpus_is_big_enough_and_covers_every_kind() -> None:
    kinds = {case["kind"] for case in POSITIVES}
    assert len(POSITIVES) >= 40
    assert len(NEGATIVES) >= 40
    assert all(isinstance(text, str) for text in NEGATIVES)
    expected = {
        "slack_token",
        "slack_webhook",
        "openai_key",
        "anthropic_key",
        "aws_access_key_id",
        "aws_secret_access_key",
        "github_token",
        "private_key",
        "jwt",
        "password",
        "authorization",
        "bearer_token",
    }
    assert expected <= kinds


@pytest.mark.parametrize("case", POSITIVES, ids=_id)
def test_no_positive_secret_survives_redaction(case: dict[str, str]) -> None:
    assert case["secret"] in case["text"], "corpus entry must contain its own secret"
    redacted = redact(case["text"])
    assert case["secret"] not in redacted
    assert "[REDACTED:" in redacted


@pytest.mark.parametrize("case", POSITIVES, ids=_id)
def test_find_secrets_reports_the_kind_of_each_positive(case: dict[str, str]) -> None:
    kinds = [finding.kind for finding in find_secrets(case["text"])]
    assert case["kind"] in kinds


@pytest.mark.parametrize("text", NEGATIVES)
def test_negatives_are_left_exactly_as_they_were(text: str) -> None:
    assert redact(text) == text
    assert find_secrets(text) == []


@pytest.mark.parametrize("case", POSITIVES, ids=_id)
def test_redaction_is_idempotent_on_the_corpus(case: dict[str, str]) -> None:
    once = redact(case["text"])
    assert redact(once) == once


def test_well_known_prefixes_stay_readable() -> None:
    assert redact("xoxb-0000000000-0000000000000-FAKEfakeFAKEfake") == "xoxb-[REDACTED:slack_token]"
    assert redact("AKIAIOSFODNN7EXAMPLE") == "AKIA[REDACTED:aws_access_key_id]"
    assert redact("sk-proj-FAKEfake0000FAKEfake0000FAKE") == "sk-proj-[REDACTED:openai_key]"
    assert (
        redact("postgresql://orch:S3cr3t-FAKE@db:5432/orch")
        == "postgresql://orch:[REDACTED:password]@db:5432/orch"
    )
    assert (
        redact("Authorization: Bearer FAKEfake0000FAKEfake")
        == "Authorization: Bearer [REDACTED:authorization]"
    )


def test_find_secrets_reports_the_line_each_secret_starts_on() -> None:
    diff = "\n".join(
        [
            "+# settings",
            "+DEBUG = False",
            "+SLACK_BOT_TOKEN = 'xoxb-0000000000-0000000000000-FAKEfakeFAKEfake'",
            "+",
            "+-----BEGIN OPENSSH PRIVATE KEY-----",
            "+b3BlbnNzaC1rZXktdjEAAAAAFAKE",
            "+-----END OPENSSH PRIVATE KEY-----",
            "+DB_URL = 'postgresql://app:FAKEpass0000@db/app'",
        ]
    )
    findings = find_secrets(diff)
    assert [(f.kind, f.line) for f in findings] == [("slack_token", 3), ("private_key", 5), ("password", 8)]
    token = findings[0]
    assert diff[token.start : token.end] == "xoxb-0000000000-0000000000000-FAKEfakeFAKEfake"
    assert isinstance(token, Finding)


def test_overlapping_detections_merge_so_no_fragment_leaks() -> None:
    text = "xoxb-0000000000-0000000000000-FAKEfake-----BEGIN RSA PRIVATE KEY-----\nMIIEFAKE\n"
    redacted = redact(text)
    assert "FAKEfake" not in redacted
    assert "MIIEFAKE" not in redacted
    assert redact(redacted) == redacted


def test_a_truncated_private_key_is_redacted_to_the_end_of_its_body() -> None:
    text = "pasted: -----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nMHcCAQEEIFAKEfake\nAA==\nthanks, bye"
    assert redact(text) == "pasted: [REDACTED:private_key]\nthanks, bye"


def test_placeholders_are_not_secrets_but_real_values_next_to_them_are() -> None:
    text = "DB_PASSWORD=changeme\nAPI_KEY=${API_KEY}\nSECRET_TOKEN=FAKEfake0000FAKEfake"
    assert redact(text) == "DB_PASSWORD=changeme\nAPI_KEY=${API_KEY}\nSECRET_TOKEN=[REDACTED:token]"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("SLACK_BOT_TOKEN", "token"),
        ("db_password", "password"),
        ("apiKey", "api_key"),
        ("OPENAI_APIKEY", "api_key"),
        ("clientSecret", "secret"),
        ("private_key", "private_key"),
        ("AWS_ACCESS_KEY", "access_key"),
        ("credentials", "credential"),
        ("DB_PASS", "password"),
        ("BYPASS_CACHE", None),
        ("Authorization", "authorization"),
        ("tokenizer", None),
        ("secretary", None),
        ("TOKEN_URL", None),
        ("password_file", None),
        ("secret_name", None),
        ("goal_id", None),
    ],
)
def test_secret_names_are_recognised_by_their_words(name: str, kind: str | None) -> None:
    assert secret_name_kind(name) == kind


def test_redact_obj_walks_nested_payloads_and_blanks_values_under_secret_keys() -> None:
    payload: dict[Any, Any] = {
        "goal": "G-0001",
        "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
        "config": [{"password": "pw"}, {"name": "db", "url": "postgresql://u:FAKEpw0000@h/db"}],
        "note": "the token is xoxb-0000000000-0000000000000-FAKEfakeFAKEfake",
        "usage": {"total_tokens": 1234, "max_tokens": 4096},
        "api_key": None,
        "client_secret": "changeme",
        ("tuple", "key"): ("AKIAIOSFODNN7EXAMPLE",),
    }
    assert redact_obj(payload) == {
        "goal": "G-0001",
        "headers": {"Authorization": "[REDACTED:authorization]", "Accept": "application/json"},
        "config": [
            {"password": "[REDACTED:password]"},
            {"name": "db", "url": "postgresql://u:[REDACTED:password]@h/db"},
        ],
        "note": "the token is xoxb-[REDACTED:slack_token]",
        "usage": {"total_tokens": 1234, "max_tokens": 4096},
        "api_key": None,
        "client_secret": "changeme",
        ("tuple", "key"): ("AKIA[REDACTED:aws_access_key_id]",),
    }
    assert payload["headers"]["Authorization"] == "Bearer abc", "the input is not modified"
    assert redact_obj(redact_obj(payload)) == redact_obj(payload)


def test_redact_obj_leaves_plain_values_alone() -> None:
    assert redact_obj(42) == 42
    assert redact_obj(None) is None
    assert redact_obj(["plain", 1.5, True]) == ["plain", 1.5, True]


def _capture(logger: logging.Logger) -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    return stream


def test_log_filter_redacts_the_message_its_args_and_tracebacks() -> None:
    parent = logging.getLogger("test_redact.parent")
    parent.propagate = False
    parent.setLevel(logging.INFO)
    stream = _capture(parent)
    try:
        flt = install_log_redaction(parent)
        assert install_log_redaction(parent) is flt, "installing twice adds nothing"
        child = logging.getLogger("test_redact.parent.child")
        child.info("posting with %s", "xoxb-0000000000-0000000000000-FAKEfakeFAKEfake")
        try:
            raise RuntimeError("connect failed: postgresql://orch:FAKEpw0000@db/orch")
        except RuntimeError:
            child.exception("boom %(token)s", {"token": "ghp_FAKEfakeFAKEfakeFAKEfake000000000000"})
    finally:
        for handler in list(parent.handlers):
            parent.removeHandler(handler)
        parent.filters.clear()
    out = stream.getvalue()
    assert "FAKEfakeFAKEfake" not in out
    assert "FAKEpw0000" not in out
    assert "INFO posting with xoxb-[REDACTED:slack_token]" in out
    assert "ERROR boom ghp_[REDACTED:github_token]" in out
    assert "postgresql://orch:[REDACTED:password]@db/orch" in out


def test_log_filter_keeps_a_broken_format_call_redacted() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "%d tokens", ("FAKEfake0000FAKEfake=xoxb-00000000001",), None
    )
    assert RedactingFilter().filter(record)
    assert record.args == ("FAKEfake0000FAKEfake=xoxb-[REDACTED:slack_token]",)


def _mixed_text(size: int) -> str:
    parts: list[str] = []
    i = 0
    while sum(len(p) for p in parts) < size:
        parts.append(NEGATIVES[i % len(NEGATIVES)])
        if i % 7 == 0:
            parts.append(POSITIVES[i % len(POSITIVES)]["text"])
        parts.append("The approver reviewed the PRD and the task list for goal G-0001 today.")
        i += 1
    return "\n".join(parts)


@pytest.mark.parametrize(
    "text",
    [
        _mixed_text(100_000),
        "The quick brown fox jumps over the lazy dog. " * 2300,
        "sk-" * 33_000,
        "xoxb-1" * 16_000,
        "-----BEGIN PRIVATE KEY-----" * 3_700,
        "aws" * 33_000,
        "secret " * 14_000,
        "token=" * 16_000,
        "a://b:" * 16_000,
        "eyJ" * 33_000,
    ],
    ids=[
        "mixed",
        "prose",
        "sk-run",
        "xoxb-run",
        "begin-run",
        "aws-run",
        "secret-words",
        "token-eq",
        "schemes",
        "eyJ-run",
    ],
)
def test_redacting_100_kb_of_hostile_input_finishes_and_is_stable(text: str) -> None:
    # How fast is a bench figure (`python -m bench --only redact`); here: it finishes, and a
    # second pass changes nothing (the markers themselves are not taken for secrets).
    once = redact(text)
    assert isinstance(once, str) and redact(once) == once


def test_redact_obj_judges_keys_that_are_names_not_sentences() -> None:
    payload = {
        "note about the token rotation": "done on Friday",
        "legacy xoxa-2-0000000000-FAKEfakeFAKEfake in an old config": "kept",
        "X-Api-Key": "FAKEfake0000",
    }
    assert redact_obj(payload) == {
        "note about the token rotation": "done on Friday",
        "legacy xoxa-[REDACTED:slack_token] in an old config": "kept",
        "X-Api-Key": "[REDACTED:api_key]",
    }
