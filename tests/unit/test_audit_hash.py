"""The hashed text of an entry is written by a template, and is the text its definition gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.audit import GENESIS_HASH, HASHED_FIELDS, _canonical, _canonical_document, entry_hash

_zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])
_values = st.one_of(
    st.none(),
    st.text(),  # quotes, backslashes, control characters, any plane of Unicode
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
)
_entries = st.fixed_dictionaries(
    {name: _values for name in HASHED_FIELDS if name != "at"}
    | {"at": st.datetimes(timezones=_zones, allow_imaginary=False)}
)


@settings(max_examples=500, deadline=None)
@given(_entries)
def test_the_template_writes_the_defined_canonical_document(fields: dict[str, Any]) -> None:
    values = tuple(fields[name] for name in HASHED_FIELDS)
    assert _canonical(values) == _canonical_document(values)


def test_a_stored_row_with_its_hash_column_is_hashed_on_its_fields_only() -> None:
    fields = {name: None for name in HASHED_FIELDS} | {
        "seq": 7,
        "at": datetime(2024, 5, 1, tzinfo=UTC),
        "payload": '{"a":"é\\n"}',
        "prev_hash": GENESIS_HASH,
    }
    row = (*(fields[name] for name in HASHED_FIELDS), "the stored hash")
    assert _canonical(row) == _canonical_document(row)
    assert '"at":"2024-05-01T00:00:00.000000+00:00"' in _canonical(row)
    assert entry_hash(fields) == entry_hash(
        {**fields, "at": datetime(2024, 5, 1, 2, tzinfo=timezone(timedelta(hours=2)))}
    )
