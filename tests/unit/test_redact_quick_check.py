"""The quick check in front of the full scan only skips texts the full scan finds nothing in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.redact as redact_module
from bot.redact import Finding, find_secrets, redact, redact_obj

CORPUS = Path(__file__).resolve().parents[1] / "data" / "secrets"
_POSITIVES = [case["text"] for case in yaml.safe_load((CORPUS / "positive.yaml").read_text(encoding="utf-8"))]
_NEGATIVES = yaml.safe_load((CORPUS / "negative.yaml").read_text(encoding="utf-8"))


@contextmanager
def _full_scan_only() -> Iterator[None]:
    saved = redact_module._QUICK_CHECK_MAX
    redact_module._QUICK_CHECK_MAX = -1
    try:
        yield
    finally:
        redact_module._QUICK_CHECK_MAX = saved


def _both(text: str) -> tuple[list[Finding], list[Finding]]:
    quick = list(find_secrets(text))
    with _full_scan_only():
        full = list(find_secrets(text))
    return quick, full


def test_every_word_a_detector_starts_from_is_a_trigger() -> None:
    anchors = {anchor for det in redact_module._DETECTORS for anchor in det.anchors}
    assert (
        anchors | set(redact_module._NAME_KEYWORDS) | {"private key", "aws", "secret"}
        <= redact_module._TRIGGERS
    )
    assert all(word == word.lower() for word in redact_module._TRIGGERS)


def test_every_corpus_secret_is_still_found_and_redacted() -> None:
    for text in _POSITIVES:
        quick, full = _both(text)
        assert quick == full and quick, text
        assert redact(text) != text


def test_corpus_non_secrets_get_the_same_answer() -> None:
    for text in _NEGATIVES:
        quick, full = _both(text)
        assert quick == full, text


_WORDS = [*sorted(redact_module._TRIGGERS), "KEY", "Token", "=", ": ", '"', "://u:", "@h", " ", "\n"]
_texts = st.lists(
    st.one_of(
        st.sampled_from(_WORDS + _POSITIVES),
        st.text(alphabet="aAzZ09-_/+=:.@\"' xXoOkKsSbBpPeEyYjJwW", max_size=40),
        st.text(max_size=12),
    ),
    max_size=10,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_texts)
def test_quick_check_and_full_scan_agree_on_generated_text(text: str) -> None:
    quick, full = _both(text)
    assert quick == full


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["token", "api_key", "reason", "note", "PASSWORD"]), _texts, max_size=4)
)
def test_redact_obj_agrees_with_the_full_scan(value: dict[str, str]) -> None:
    quick = redact_obj(value)
    with _full_scan_only():
        assert redact_obj(value) == quick
