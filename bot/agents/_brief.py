"""Turning a free-text brief (often a pasted Slack thread) into statements and questions.

Used by the offline drafter, which has no model to understand the brief: it splits the text into
bullet points and sentences, strips Slack markup, and keeps the order people wrote things in.
Pure and deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Slack markup: <@U123>, <#C123|general>, <!here>, <https://x|label>.
_SLACK_REF = re.compile(r"<([@#!])([^>|]*)(?:\|([^>]*))?>")
_SLACK_LINK = re.compile(r"<(https?://[^>|]+)(?:\|([^>]*))?>")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|\[[ xX]?\])\s+(.*)$")
# "alice: we need…" at the start of a thread line; one word only, so "Note that: …" stays.
_SPEAKER = re.compile(r"^(?:@?[A-Za-z][\w.-]{0,23}|<@\w+>):\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Openers that carry no content: "We need a status command" is about "a status command".
_FILLER = re.compile(
    r"^(?:(?:also|and|so|then|ok|okay|please|plus)[,:]?\s+)*"
    r"(?:(?:we|i|you)\s+(?:really\s+)?(?:need|want|would\s+like|'d\s+like|should|must)(?:\s+to)?\s+"
    r"|it\s+(?:should|must|would\s+be\s+nice\s+to)\s+|(?:let's|lets)\s+|can\s+we\s+|could\s+we\s+)?",
    re.IGNORECASE,
)
# Statements starting with one of these read as an action, so EARS can use them directly.
_ACTION_VERBS_TEXT = (
    "accept add allow archive block build cache check collect create delete deny display "
    "edit email enable expose export fetch filter handle hide import keep limit link list "
    "log migrate notify post preview print publish record refuse reject remind remove rename "
    "render replace report retry return run save schedule send show sort store support sync "
    "track update upload use validate verify warn write"
)
ACTION_VERBS = frozenset(_ACTION_VERBS_TEXT.split())
_SPLIT_AND = re.compile(r",\s*(?:and\s+)?|;\s*|\s+and\s+(?:then\s+)?|\s+then\s+")
MAX_ITEM_CHARS = 240


@dataclass(frozen=True)
class BriefItems:
    statements: list[str]
    questions: list[str]


def clean(text: str) -> str:
    """Slack markup replaced by readable text, whitespace collapsed."""
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SLACK_REF.sub(
        lambda m: m.group(3) or ("@" + m.group(2) if m.group(1) == "@" else m.group(2)), text
    )
    return " ".join(text.split())


def _clip(text: str) -> str:
    if len(text) <= MAX_ITEM_CHARS:
        return text
    cut = text[:MAX_ITEM_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


def _normal(item: str) -> str:
    item = item.strip().strip("\"'`").rstrip(".;:,?!").strip()
    return _FILLER.sub("", item).strip()


def split_brief(brief: str) -> BriefItems:
    """Bullets and sentences of the brief, questions apart, duplicates and fragments dropped."""
    raw: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            raw.extend(_SENTENCE_END.split(" ".join(paragraph)))
            paragraph.clear()

    for line in brief.splitlines():
        line = _SPEAKER.sub("", clean(line))
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            raw.append(bullet.group(1))
        elif line:
            paragraph.append(line)
        else:
            flush()
    flush()

    statements: list[str] = []
    questions: list[str] = []
    seen: set[str] = set()
    for item in raw:
        is_question = item.rstrip().endswith("?")
        text = _clip(_normal(item))
        key = text.lower()
        if len(text.split()) < 2 or key in seen:
            continue
        seen.add(key)
        (questions if is_question else statements).append(capitalise(text) + ("?" if is_question else ""))
    return BriefItems(statements=statements, questions=questions)


def split_clause(text: str) -> list[str]:
    """Parts of one statement joined by "and", commas or "then", when each part is a phrase."""
    parts = [_normal(p) for p in _SPLIT_AND.split(text)]
    parts = [p for p in parts if len(p.split()) >= 2]
    return parts if len(parts) >= 2 else [text]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def starts_with_action(text: str) -> bool:
    first = text.split(" ", 1)[0].lower()
    return first in ACTION_VERBS


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word looks like a name or acronym."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first.isupper() or any(c.isupper() for c in first[1:])):
        return text
    return text[:1].lower() + text[1:]


def short_title(text: str, limit: int = 80) -> str:
    text = capitalise(text.rstrip("?"))
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"
