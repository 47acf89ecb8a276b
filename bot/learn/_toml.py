"""A small TOML writer for the adapters `orch learn` writes (the standard library only reads TOML).

It covers what configuration sections hold: strings, booleans, integers, floats, dates as strings,
lists of those, nested tables and arrays of tables. Output is deterministic (keys in insertion
order), because a harvest is committed and re-harvesting the same repository must not churn.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    out = "".join(ch if ch.isprintable() else _escape(ch) for ch in out)
    return f'"{out}"'


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    # Dates and times read by tomllib come back as datetime objects; their ISO form is valid TOML.
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def dumps(data: Mapping[str, Any], *, header: str = "") -> str:
    """`data` as TOML text; `header` lines become leading `#` comments."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    if lines:
        lines.append("")
    _table(data, [], lines)
    return "\n".join(lines).strip("\n") + "\n"


def _table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, Mapping) and not _is_table_array(v)]
    for key, value in scalars:
        lines.append(f"{_key(str(key))} = {_value(value)}")
    for key, value in data.items():
        sub = [*path, str(key)]
        if isinstance(value, Mapping):
            # A table with only sub-tables needs no header of its own.
            if (
                any(not isinstance(v, Mapping) and not _is_table_array(v) for v in value.values())
                or not value
            ):
                lines += ["", "[" + ".".join(_key(p) for p in sub) + "]"]
            _table(value, sub, lines)
        elif _is_table_array(value):
            for item in value:
                lines += ["", "[[" + ".".join(_key(p) for p in sub) + "]]"]
                _table(item, sub, lines)
