"""Commit messages: the text, then one paragraph of trailers that git parses back."""

from __future__ import annotations

from collections.abc import Mapping

from bot.repo.validate import validate_trailer


def compose_message(message: str, trailers: Mapping[str, str] | None) -> str:
    """The message followed by one paragraph of trailers, which git parses back reliably."""
    text = message.replace("\r", "").replace("\x00", "").strip()
    if not text:
        raise ValueError("a commit needs a message")
    checked = [validate_trailer(k, v) for k, v in (trailers or {}).items()]
    if checked:
        text += "\n\n" + "\n".join(f"{k}: {v}" for k, v in checked)
    return text + "\n"
