"""Whose words a brief holds: the requester's own, and what it quotes as data.

A brief made from a Slack thread (`bot.services.threads.brief_from_thread`) starts with the
requester's own words, then a source line, then the thread quoted line by line (`> …`). Anyone in
the channel can write in a thread, so what a drafter turns into goals, requirements and tasks
comes from the requester's words only; the quoted thread is context, shown only as a quote.
Pure, no I/O.
"""

from __future__ import annotations

THREAD_SOURCE_LINE = "Source: a Slack thread, quoted below as data."


def requester_words(brief: str) -> str:
    """The brief up to a quoted thread's source line, without quoted (`>`) lines."""
    kept: list[str] = []
    for line in brief.splitlines():
        if line.startswith(THREAD_SOURCE_LINE):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()
