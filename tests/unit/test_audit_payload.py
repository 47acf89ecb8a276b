"""An audit payload is stored as the redacted canonical JSON of its JSON round trip, whether or not
the round trip is skipped for payloads that are JSON already."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from bot.redact import redact_obj
from storage.audit import _ENCODER, _json_default, _payload_text


def _round_tripped(payload: dict[str, Any]) -> str:
    """What every payload was stored as before plain ones skipped the round trip."""
    return _ENCODER.encode(redact_obj(json.loads(json.dumps(dict(payload), default=_json_default))))


_strings = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["looks right", "sk-FAKEfake0000FAKEfake0000FAKEfake", "password=Xy7#pQ9!zz", "café"]),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _strings,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["token", "api_key", "reason", "n", "ключ"]) | _strings, children, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["version", "reason", "password", "env"]) | _strings, _json, max_size=5)
)
def test_a_plain_json_payload_is_stored_as_its_round_trip_would_be(payload: dict[str, Any]) -> None:
    assert _payload_text(payload) == _round_tripped(payload)


class Colour(Enum):
    RED = "red"


class Model(BaseModel):
    token: str
    size: int


def test_values_json_does_not_know_are_turned_into_json_and_then_redacted() -> None:
    payload: dict[Any, Any] = {
        "path": PurePosixPath("/srv/app/token=Xy7pQ9zzAbCd"),
        "colour": Colour.RED,
        "when": datetime(2024, 5, 1, tzinfo=UTC),
        "id": UUID(int=1),
        "pair": (1, "two"),
        "tags": {"b", "a"},
        "model": Model(token="ghp_FAKEfake0000FAKEfake0000FAKEfake0000", size=3),
        7: "an int key",
    }
    stored = _payload_text(payload)
    assert stored == _round_tripped(payload)
    assert json.loads(stored)["pair"] == [1, "two"] and json.loads(stored)["7"] == "an int key"
    assert "Xy7pQ9zz" not in stored and "FAKEfake" not in stored


def test_the_callers_payload_is_not_changed() -> None:
    payload = {"env": {"OPENAI_API_KEY": "sk-FAKEfake0000FAKEfake0000FAKEfake"}, "items": [1, 2]}
    copy = json.loads(json.dumps(payload))
    assert "[REDACTED:api_key]" in _payload_text(payload)
    assert payload == copy


def test_an_empty_or_missing_payload_is_an_empty_object() -> None:
    assert _payload_text(None) == _payload_text({}) == "{}"


def test_a_payload_that_contains_itself_is_refused() -> None:
    payload: dict[str, Any] = {"a": []}
    payload["a"].append(payload)
    with pytest.raises(ValueError, match="Circular"):
        _payload_text(payload)
