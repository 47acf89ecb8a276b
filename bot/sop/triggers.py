"""Mini-spec triggers: the kinds of change that deserve a written design before the action plan.

Ceremony should be proportionate, so the Mini-Spec phase only runs when one of these triggers
fires on the goal's texts (brief, thread, PRD, task list). The detector is a table of
case-insensitive, word-bounded regular expressions; each hit carries the sentence around it as
evidence, so the person deciding on the spec (or waiving it) sees why it was asked for.
This module is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TRIGGER_NAMES: tuple[str, ...] = (
    "migration",
    "security",
    "cross_service",
    "new_dependency",
    "novel_pattern",
)

# Word boundaries that treat `_` and `-` as separators, so `auth_service` and `auth-token` still
# mention auth while `author` and `authority` do not.
_B = r"(?<![a-z0-9])"
_E = r"(?![a-z0-9])"
_ARTICLE = r"(?:(?:a|an|the|some)\s+)?"


@dataclass(frozen=True)
class Trigger:
    name: str
    evidence: str


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    # A hit is ignored when its sentence also matches `unless` (e.g. "tokens" of a language model).
    unless: re.Pattern[str] | None = None


def _rule(name: str, pattern: str, unless: str | None = None) -> _Rule:
    return _Rule(
        name=name,
        pattern=re.compile(_B + "(?:" + pattern + ")" + _E, re.IGNORECASE),
        unless=re.compile(unless, re.IGNORECASE) if unless else None,
    )


_COMPONENTS = (
    r"(?:message\s+|job\s+|task\s+|work\s+)?queues?|caches?|caching(?:\s+layer)?|event\s+bus|message\s+bus|"
    r"message\s+broker|pub\s*/?\s*sub|worker\s+pool|background\s+workers?|state\s+machine|"
    r"plugin\s+system|feature\s+flags?|event[\s-]+sourcing|cqrs|sagas?|graphql|websockets?|grpc|"
    r"circuit\s+breakers?|outbox"
)
# "Dependencies between tasks" is planning vocabulary here, not a new package.
_TASK_DEPS = r"\btasks?\b[^.]*\bdependenc|\bdependenc\w*\s+(?:between|among|graph|order|of\s+tasks?)"
_NEW_THING = r"(?:librar(?:y|ies)|dependenc(?:y|ies)|frameworks?|packages?|sdks?|third[\s-]+party\s+\w+)"

_RULES: tuple[_Rule, ...] = (
    # Database and data-shape changes.
    _rule("migration", r"migrat(?:e|es|ed|ing|ion|ions)"),
    _rule("migration", r"alter\s+table"),
    _rule("migration", r"(?:db|database|data|table)?\s*schema\s+(?:changes?|updates?|migrations?)"),
    _rule("migration", r"change\s+(?:to\s+)?(?:the\s+)?(?:db\s+|database\s+)?schema"),
    _rule(
        "migration",
        r"(?:add|adds|adding|new|drop|drops|dropping|rename|renaming)\s+"
        + _ARTICLE
        + r"(?:new\s+)?(?:columns?|tables?|indexes|index|foreign\s+keys?)",
    ),
    _rule("migration", r"backfill(?:s|ed|ing)?|alembic"),
    # Authentication, authorisation, secrets and personal data.
    _rule("security", r"auth|authn|authz|oauth2?|sso|saml|openid|oidc|rbac|mfa|2fa"),
    _rule("security", r"authenticat\w*|authori[sz]\w*|unauthori[sz]ed"),
    _rule("security", r"permissions?|access\s+control|privileges?|logins?|sign[\s-]?in"),
    _rule("security", r"secrets?|credentials?|passwords?|api[\s_-]?keys?|private\s+keys?|jwts?|csrf|xss"),
    _rule(
        "security",
        r"encrypt\w*|decrypt\w*|pii|gdpr|personal(?:ly)?\s+(?:identifiable\s+)?(?:data|information)",
    ),
    # A plain "token" is a security matter unless the sentence is about language-model tokens.
    _rule(
        "security",
        r"(?:access|refresh|bearer|session|api|auth|csrf)?[\s_-]?tokens?",
        unless=r"\b(?:llm|language\s+model|prompt|context\s+window|tokeni[sz]\w*|model)\b",
    ),
    # More than one service or repository.
    _rule(
        "cross_service",
        r"across\s+(?:\w+\s+)?(?:services|repos|repositories|microservices|teams'\s+services)",
    ),
    _rule(
        "cross_service",
        r"(?:two|three|several|multiple|both|2|3)\s+(?:\w+\s+)?(?:services|repos|repositories|microservices|backends)",
    ),
    _rule("cross_service", r"service\s+\w+\s+and\s+service\s+\w+"),
    _rule("cross_service", r"[a-z][a-z0-9]*[-_]service\s+and\s+(?:the\s+)?[a-z][a-z0-9]*[-_]service"),
    _rule("cross_service", r"microservices?|cross[\s-]+(?:service|repo|repository)\w*|inter[\s-]?service"),
    _rule("cross_service", r"(?:api\s+)?contracts?\s+between|(?:upstream|downstream)\s+services?"),
    _rule("cross_service", r"(?:another|other)\s+(?:team'?s?\s+)?(?:service|repo|repository)"),
    # New third-party code.
    _rule("new_dependency", r"new\s+(?:third[\s-]+party\s+)?" + _NEW_THING, unless=_TASK_DEPS),
    _rule(
        "new_dependency",
        r"(?:add|adds|adding|introduce|introducing|pull\s+in|bring\s+in|adopt)\s+"
        + _ARTICLE
        + r"(?:new\s+)?(?:[\w.-]+\s+)?"
        + _NEW_THING,
        unless=_TASK_DEPS,
    ),
    _rule("new_dependency", r"(?:pip|uv|poetry|npm|yarn|pnpm|cargo)\s+(?:install|add|get)"),
    # Patterns the codebase does not have yet.
    _rule("novel_pattern", r"first\s+time\s+(?:that\s+)?(?:we|the\s+team|this\s+repo)"),
    _rule("novel_pattern", r"new\s+(?:architectural\s+|design\s+|integration\s+)?patterns?"),
    _rule(
        "novel_pattern",
        r"(?:introduce|introduces|introducing|add|adding|adopt|adopting|set\s+up|setting\s+up)\s+"
        + _ARTICLE
        + r"(?:new\s+)?(?:[\w-]+\s+)?(?:"
        + _COMPONENTS
        + r")",
    ),
    _rule(
        "novel_pattern",
        r"(?:not|never)\s+(?:yet\s+)?(?:used|present|done)\s+(?:in|before\s+in)\s+"
        r"(?:the|this|our)\s+(?:repo|repository|codebase|code\s+base|project)",
    ),
    _rule("novel_pattern", r"event[\s-]+driven|event[\s-]+sourcing"),
)

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_LIST_MARK = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
_MAX_EVIDENCE = 160


def _sentences(text: str) -> list[str]:
    found = (_LIST_MARK.sub("", s.strip()) for s in _SENTENCE.findall(text))
    return [s for s in found if s]


def _evidence(sentence: str, match: re.Match[str]) -> str:
    """The sentence, or a window around the match when the sentence is long."""
    if len(sentence) <= _MAX_EVIDENCE:
        return sentence
    half = (_MAX_EVIDENCE - len(match.group(0))) // 2
    start = max(0, match.start() - max(half, 0))
    end = min(len(sentence), start + _MAX_EVIDENCE)
    snippet = sentence[start:end].strip()
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(sentence) else "")


def detect_triggers(*texts: str) -> list[Trigger]:
    """Every trigger that fires in `texts`, at most once per name, in `TRIGGER_NAMES` order.

    The evidence is the first sentence (in text order) that fired the trigger.
    """
    found: dict[str, Trigger] = {}
    for text in texts:
        for sentence in _sentences(text or ""):
            for rule in _RULES:
                if rule.name in found:
                    continue
                match = rule.pattern.search(sentence)
                if match is None or (rule.unless is not None and rule.unless.search(sentence)):
                    continue
                found[rule.name] = Trigger(rule.name, _evidence(sentence, match))
    return [found[name] for name in TRIGGER_NAMES if name in found]


def trigger_names(*texts: str) -> list[str]:
    """The names only, as stored in `GoalRecord.spec_triggers`."""
    return [t.name for t in detect_triggers(*texts)]
