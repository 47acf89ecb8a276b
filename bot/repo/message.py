"""Commit messages: the text, then one paragraph of trailers that git parses back."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bot.repo.validate import validate_trailer

# A mapping, or (key, value) pairs when a key repeats (a batch commit names several effects).
Trailers = Mapping[str, str] | Iterable[tuple[str, str]]


def compose_message(message: str, trailers: Trailers | None) -> str:
    """The message followed by one paragraph of trailers, which git parses back reliably."""
    text = message.replace("\r", "").replace("\x00", "").strip()
    if not text:
        raise ValueError("a commit needs a message")
    pairs = trailers.items() if isinstance(trailers, Mapping) else (trailers or ())
    checked = [validate_trailer(k, v) for k, v in pairs]
    if checked:
        text += "\n\n" + "\n".join(f"{k}: {v}" for k, v in checked)
    return text + "\n"


_TRAILER_LINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*: \S")


def append_trailer(text: str, key: str, value: str) -> str:
    """A composed message with one more trailer, in its trailer paragraph (a new one if it has none)."""
    key, value = validate_trailer(key, value)
    body = text.rstrip("\n")
    last = body.rsplit("\n\n", 1)[-1]
    has_trailers = "\n\n" in body and all(_TRAILER_LINE.match(line) for line in last.splitlines())
    separator = "\n" if has_trailers else "\n\n"
    return f"{body}{separator}{key}: {value}\n"
