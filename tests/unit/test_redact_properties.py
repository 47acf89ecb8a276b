"""Properties of `redact` over generated text built from secret-like fragments and noise."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.redact import find_secrets, redact, redact_obj

CORPUS = Path(__file__).resolve().parents[1] / "data" / "secrets"
_POSITIVES = [case["text"] for case in yaml.safe_load((CORPUS / "positive.yaml").read_text(encoding="utf-8"))]
_NEGATIVES = yaml.safe_load((CORPUS / "negative.yaml").read_text(encoding="utf-8"))
_PIECES = [
    "xoxb-",
    "sk-",
    "sk-ant-",
    "AKIA",
    "eyJ",
    "ghp_",
    "://",
    "@",
    "=",
    ": ",
    '"',
    "'",
    "\n",
    " ",
    "password",
    "TOKEN",
    "secret",
    "aws",
    "Bearer ",
    "Authorization: ",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "[REDACTED:token]",
]
_fragments = st.one_of(
    st.sampled_from(_POSITIVES + _NEGATIVES + _PIECES),
    st.text(max_size=20),
    st.text(alphabet="aZ09-_:=@/+.\"' xoksbpeyJ", max_size=30),
)
texts = st.lists(_fragments, max_size=12).map("".join)
# The longest replacement tag is `[REDACTED:aws_secret_access_key]`.
_MAX_TAG = 33


@settings(max_examples=400, deadline=None)
@given(texts)
def test_redact_never_raises_and_grows_text_only_by_its_tags(text: str) -> None:
    findings = find_secrets(text)
    redacted = redact(text)
    assert len(redacted) <= len(text) + _MAX_TAG * len(findings)
    for before, after in pairwise(findings):
        assert before.end <= after.start, "findings never overlap"


@settings(max_examples=400, deadline=None)
@given(texts)
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert find_secrets(once) == []


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_redact_of_arbitrary_unicode_never_raises(text: str) -> None:
    redact(text)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | texts,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
        max_leaves=20,
    )
)
def test_redact_obj_is_idempotent_on_nested_values(value: object) -> None:
    once = redact_obj(value)
    assert redact_obj(once) == once
