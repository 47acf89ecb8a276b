"""The one redaction used everywhere: audit payloads, logs, Slack posts, and the diff secret check.

Two kinds of detector run over the text. Specific detectors know a secret by its shape (Slack,
OpenAI, Anthropic, GitHub, AWS, Google and Stripe keys, JWTs, private key blocks, webhook URLs,
passwords in connection strings, Authorization headers). The generic detector knows a secret by
its name: `NAME=value`, `NAME: value`, `"name": "value"` where the name contains PASSWORD, SECRET,
TOKEN, API_KEY, PRIVATE_KEY, ACCESS_KEY, CREDENTIAL… and the value looks like a secret.

Decisions a reader may look for:
- A replacement is `[REDACTED:<kind>]`; a well-known prefix (`xoxb-`, `sk-proj-`, `AKIA`, the URL
  scheme and user) stays in front of it so people can still tell what was there.
- Placeholders are not secrets: empty values, `changeme`, `password`, `<your-token>`, `${VAR}`,
  `{{ var }}`, `your_api_key`, `xxxxxxxx`… are left alone, in assignments and in connection
  strings alike, so `.env.example` files and docs stay readable and are not refused as diffs.
- Code is not a secret: an unquoted value that is a call, an attribute path, an index, or (around
  a spaced `=`) a bare identifier is a reference (`token = get_token()`, `password = form.pw`).
- Prose is not a secret: after `:` an unquoted single plain word (`Password: required`) is kept;
  a value with a digit, a symbol or an inner capital is redacted. Quoted values are literals and
  are judged only by placeholder, length (≥ 8) and Shannon entropy (≥ 2.5 bits per character).
- Redaction is idempotent: no detector matches its own replacement.
"""

from __future__ import annotations

import logging
import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any, NamedTuple

__all__ = [
    "Finding",
    "RedactingFilter",
    "find_secrets",
    "install_log_redaction",
    "redact",
    "redact_obj",
    "secret_name_kind",
]

MARK = "[REDACTED:"
ENTROPY_THRESHOLD = 2.5
MIN_VALUE_LENGTH = 8
# A name that says "password" is the strongest signal there is, and people's passwords are short
# (`password: hunter2`): under such a name a shorter, plainer value still counts.
MIN_PASSWORD_LENGTH = 6
PASSWORD_ENTROPY_THRESHOLD = 2.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret in a text, `text[start:end]`, starting on `line` (counted from 1).

    The span includes a well-known prefix (`xoxb-`, `AKIA`) that `redact` leaves visible.
    """

    kind: str
    start: int
    end: int
    line: int


def _tag(kind: str) -> str:
    return f"{MARK}{kind}]"


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _mixed(value: str) -> bool:
    """Random key bodies have upper, lower and digits; slugs and words almost never do."""
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


_PLACEHOLDER_WORDS = (
    "changeme change-me change_me changeit password passwd secret token none null nil "
    "undefined true false redacted example dummy placeholder todo tbd fixme replace_me "
    "replace-me replaceme notset not-set unset empty test"
)
_PLACEHOLDERS = frozenset(_PLACEHOLDER_WORDS.split()) | {""}
_PLACEHOLDER_SHAPE = re.compile(
    r"""^(?:
        <[^<>]*>                 # <your-token>
      | \$\{[^}]*\}              # ${VAR}
      | \$[A-Za-z_][A-Za-z0-9_]* # $VAR
      | \{\{.*\}\}               # {{ var }}
      | %\([^)]*\)s              # %(var)s
      | (?i:your)[_\- ].*        # your_api_key, YOUR-TOKEN-HERE
      | .*[_\-](?i:here)         # token_here
      | (.)\1*                   # xxxxxxxx, ********, ........
      | (?i:x{3,}(?:-x{3,})*)    # xxxx-xxxx
    )$""",
    re.X | re.S,
)


def is_placeholder(value: str) -> bool:
    v = value.strip()
    return MARK in v or v.casefold() in _PLACEHOLDERS or _PLACEHOLDER_SHAPE.match(v) is not None


# --- names -------------------------------------------------------------------------------------

_NAME_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SECRET_SUFFIXES = (
    ("password", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("pwd", "password"),
    ("privatekey", "private_key"),
    ("accesskey", "access_key"),
    ("secretkey", "secret"),
    ("apikey", "api_key"),
    ("secret", "secret"),
    ("token", "token"),
    ("credential", "credential"),
    ("authorization", "authorization"),
)
_SECRET_PAIRS = {
    ("api", "key"): "api_key",
    ("private", "key"): "private_key",
    ("access", "key"): "access_key",
    ("secret", "key"): "secret",
}
# A name ending in one of these describes a secret rather than holding one (TOKEN_URL, SECRET_NAME).
_DESCRIPTIVE_WORDS = (
    "file path dir url uri endpoint name type count limit ttl expiry expires expiration length "
    "len policy header env var id prefix field format hint at min max budget"
)
_DESCRIPTIVE_LAST = frozenset(_DESCRIPTIVE_WORDS.split())


def secret_name_kind(name: str) -> str | None:
    """The kind of secret a variable or key name holds (`"token"` for SLACK_BOT_TOKEN), or None."""
    parts = [p.lower() for p in _NAME_PARTS.findall(name)]
    if not parts:
        return None
    last = parts[-1].removesuffix("s") if len(parts[-1]) > 3 else parts[-1]
    if len(parts) > 1 and last in _DESCRIPTIVE_LAST:
        return None
    for a, b in pairwise(parts):
        if (a, b.removesuffix("s")) in _SECRET_PAIRS:
            return _SECRET_PAIRS[(a, b.removesuffix("s"))]
    # The last matching word names the thing: SECRET_TOKEN is a token, DB_PASSWORD_SECRET a secret.
    for part in reversed(parts):
        if part in ("pass", "pw"):  # DB_PASS, SMTP_PW; not a suffix test, or BYPASS would match
            return "password"
        stem = part.removesuffix("s")
        for suffix, kind in _SECRET_SUFFIXES:
            if stem.endswith(suffix):
                return kind
    return None


# --- values ------------------------------------------------------------------------------------

_NUMERIC = re.compile(r"^[\d\s.:,+\-TZ]+$")
_URLISH = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")
_SNAKE_WORDS = re.compile(r"^[A-Za-z]+(?:_[A-Za-z]+)+$")
_PLAIN_WORD = re.compile(r"^(?:[A-Z]?[a-z]+|[A-Z]+)$")


def _assigned_value_is_secret(
    value: str, *, quoted: bool, op: str, spaced: bool, password: bool = False
) -> bool:
    min_length = MIN_PASSWORD_LENGTH if password else MIN_VALUE_LENGTH
    if is_placeholder(value) or len(value) < min_length or _NUMERIC.match(value):
        return False
    if _URLISH.match(value) or value.startswith(("/", "./", "../", "~/")):
        return False
    if _SNAKE_WORDS.match(value):  # a constant or variable name, not a literal
        return False
    if not quoted:
        if any(c in value for c in "()[]{}") or _DOTTED.match(value):
            return False
        if spaced and op in ("=", ":=") and _IDENT.match(value):
            return False
        if op == ":" and _PLAIN_WORD.match(value):
            return False
        if password and _PLAIN_WORD.match(value):  # `password=required` is prose, `=hunter2` is not
            return False
    return shannon_entropy(value) >= (PASSWORD_ENTROPY_THRESHOLD if password else ENTROPY_THRESHOLD)


def _conn_password_ok(m: re.Match[str], _text: str) -> bool:
    return not is_placeholder(m.group("s"))


def _mixed_body(m: re.Match[str], _text: str) -> bool:
    return _mixed(m.group("s"))


def _auth_ok(m: re.Match[str], _text: str) -> bool:
    value = m.group("s")
    if is_placeholder(value):
        return False
    if m.group("scheme"):
        return True
    return _assigned_value_is_secret(value, quoted=False, op=":", spaced=True)


def _bearer_ok(m: re.Match[str], _text: str) -> bool:
    value = m.group("s")
    return not is_placeholder(value) and (_mixed(value) or shannon_entropy(value) >= 4.0)


# A bare secret access key is recognised after "aws" or "secret", or after its access key id: a
# key pair pasted together (`AKIA… wJalr…`) needs no word around it.
_AWS_KEY_ID_PREFIXES = ("akia", "asia")
_AWS_CONTEXT = re.compile(r"aws|secret|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", re.I)


def _aws_secret_in_context(m: re.Match[str], text: str) -> bool:
    value = m.group("s")
    shaped = (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() or c in "/+" for c in value)
    )
    if not shaped:
        return False
    window = max(0, m.start() - 120)
    line_start = text.rfind("\n", window, m.start()) + 1
    return _AWS_CONTEXT.search(text, max(line_start, window), m.start()) is not None


# --- detectors ---------------------------------------------------------------------------------


_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_TOKEN = _WORD | {"-"}


@dataclass(frozen=True, slots=True)
class _Detector:
    """A pattern tried only where one of its lower-case `anchors` occurs.

    Finding the anchor with `str.find` and then `pattern.match` there is many times faster than
    `finditer` over the whole text, and it keeps each detector's cost linear in the text size.
    """

    kind: str
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]
    accept: Callable[[re.Match[str], str], bool] | None = None
    # Characters that may not come right before a match: a match must not continue a word
    # (`_xoxb-…`, `task-…`), and trying only the first anchor in a run of token characters keeps
    # texts like `sk-sk-sk-…` linear.
    not_after: frozenset[str] = frozenset()
    # Whether the text matched before the secret group is a prefix worth keeping visible.
    keep_prefix: bool = True


_DETECTORS: tuple[_Detector, ...] = (
    _Detector(
        "slack_webhook",
        re.compile(
            r"https://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/\-]{16,})"
        ),
        ("https://hooks.slack",),
    ),
    _Detector(
        "slack_token",
        re.compile(r"(?:xox[abeoprs]|xapp)-(?P<s>[0-9A-Za-z][0-9A-Za-z\-]{8,})"),
        ("xox", "xapp-"),
        lambda m, _t: any(c.isdigit() for c in m.group("s")),
        not_after=_TOKEN,
    ),
    _Detector(
        "anthropic_key",
        re.compile(r"sk-ant-(?P<s>(?:[a-z]{3,6}\d{2}-)?[A-Za-z0-9_\-]{20,})"),
        ("sk-ant-",),
        not_after=_TOKEN,
    ),
    _Detector(
        "openai_key",
        re.compile(r"sk-(?:(?:proj|svcacct|admin|None)-)?(?P<s>[A-Za-z0-9_\-]{20,})"),
        ("sk-",),
        _mixed_body,
        not_after=_TOKEN,
    ),
    _Detector(
        "github_token",
        re.compile(r"(?:gh[pousr]_(?P<s>[A-Za-z0-9]{30,})|github_pat_(?P<pat>[A-Za-z0-9_]{22,}))"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        not_after=_WORD,
    ),
    _Detector(
        "aws_access_key_id",
        re.compile(r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)(?P<s>[A-Z0-9]{16})\b"),
        ("akia", "asia", "abia", "acca", "agpa", "aida", "aipa", "anpa", "anva", "aroa", "apka"),
        not_after=_WORD,
    ),
    _Detector(
        "google_api_key",
        re.compile(r"AIza(?P<s>[0-9A-Za-z_\-]{35})(?![0-9A-Za-z_\-])"),
        ("aiza",),
        not_after=_TOKEN,
    ),
    _Detector(
        "stripe_key",
        re.compile(r"[rs]k_(?:live|test)_(?P<s>[0-9A-Za-z]{16,})"),
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        not_after=_WORD,
    ),
    _Detector(
        "jwt",
        re.compile(r"(?P<s>eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{8,})"),
        ("eyj",),
        not_after=_TOKEN,
    ),
    _Detector(
        "aws_secret_access_key",
        re.compile(
            r"(?i:aws_?secret_?(?:access_?)?key)[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?P<s>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        ("aws",),
        keep_prefix=False,
    ),
    _Detector(
        "password",  # scheme://user:PASSWORD@host; the anchor is the `://`
        re.compile(r"://[^:/?#@\s\"'<>\[\]]{0,128}:(?P<s>[^@\s/\"'<>]{1,256})@"),
        ("://",),
        _conn_password_ok,
        keep_prefix=False,
    ),
    _Detector(
        "authorization",
        re.compile(
            r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?:(?P<scheme>(?i:bearer|basic|token|bot|digest|negotiate))[ \t]+)?(?P<s>[A-Za-z0-9._~+/=\-]{8,})"
        ),
        ("authorization",),
        _auth_ok,
        not_after=_WORD,
        keep_prefix=False,
    ),
    _Detector(
        "bearer_token",
        re.compile(r"Bearer[ \t]+(?P<s>[A-Za-z0-9._~+/\-]{16,}=*)"),
        ("bearer",),
        _bearer_ok,
        not_after=_WORD,
        keep_prefix=False,
    ),
)

_MAX_KEY_BLOCK = 20_000  # the longest private key block we expect (an RSA-16384 PEM is ~12 KB)
_PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9]{0,40} PRIVATE KEY(?: BLOCK)?-----")
_PRIVATE_KEY_END = re.compile(r"-----END[ A-Z0-9]{0,40} PRIVATE KEY(?: BLOCK)?-----")
# A truncated key (no END line): take the base64 lines and PEM headers that follow the BEGIN line,
# with real or JSON-escaped (`\n`) line breaks, and stop at the first line of anything else.
_PRIVATE_KEY_BODY = re.compile(
    r"(?:[ \t]*[A-Za-z0-9+/=]+)?"
    r"(?:(?:\r?\n|\\n)(?:[A-Za-z0-9+/=]+|[A-Za-z][A-Za-z\-]*:[^\r\n\\]*|)(?=\r?\n|\\n|\Z))*"
)
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_AWS_SECRET_CANDIDATE = re.compile(r"(?<![A-Za-z0-9/+])(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")

# Where a secret-holding name can be; `secret_name_kind` has the last word on the whole name.
_NAME_KEYWORDS = (
    "pass",
    "pw",
    "pwd",
    "secret",
    "token",
    "credential",
    "authorization",
    *(f"{a}{sep}key" for a in ("api", "private", "access") for sep in ("", "_", "-")),
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_ASSIGN_TAIL = re.compile(
    r"""(?:["']\]?)?(?P<pre>[ \t]*)(?P<op>:=|=>|:(?![:/])|=(?!=))(?P<post>[ \t]*)
        (?:"(?P<dq>[^"\r\n]{0,512})"|'(?P<sq>[^'\r\n]{0,512})'|(?P<uv>[^\s"'`,;&<>|]{1,512}))""",
    re.X,
)

_PASSWORD_VALUE = re.compile(r"""[^\s"'`,;<>|]{0,512}""")


class _Span(NamedTuple):
    start: int
    end: int
    kind: str
    keep: int  # leading characters left visible: a well-known prefix such as `xoxb-`


class _Spans:
    """Sorted, non-overlapping spans of secret text.

    A span that lies inside an earlier one adds nothing (a generic detector re-finding a token).
    A span that overlaps partly is merged, so no piece of either secret survives: dropping it
    instead would leak whatever stuck out.
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.items: list[_Span] = []

    def add(self, start: int, end: int, kind: str, keep: int = 0) -> None:
        lo = bisect_left(self.starts, start)
        if lo > 0 and self.items[lo - 1].end > start:
            lo -= 1
        hi = lo
        while hi < len(self.items) and self.items[hi].start < end:
            hi += 1
        new = _Span(start, end, kind, keep)
        group = [*self.items[lo:hi], new]
        if any(o.start <= start and end <= o.end for o in group[:-1]):
            return
        first = min(group, key=lambda o: o.start)
        merged_start, merged_end = first.start, max(o.end for o in group)
        keep = min([first.keep] + [o.start - merged_start for o in group if o is not first])
        del self.items[lo:hi]
        del self.starts[lo:hi]
        self.items.insert(lo, _Span(merged_start, merged_end, first.kind, max(keep, 0)))
        self.starts.insert(lo, merged_start)


def _occurrences(lower: str, needle: str) -> Iterator[int]:
    i = lower.find(needle)
    while i != -1:
        yield i
        i = lower.find(needle, i + 1)


def _scan_private_keys(text: str, spans: _Spans) -> None:
    # The END marker is searched again only once the previous one is behind us, so a text full of
    # BEGIN lines without END stays linear.
    end: re.Match[str] | None = None
    no_more_ends = False
    for begin in _PRIVATE_KEY_BEGIN.finditer(text):
        if not no_more_ends and (end is None or end.start() < begin.end()):
            end = _PRIVATE_KEY_END.search(text, begin.end())
            no_more_ends = end is None
        if end is not None and begin.end() <= end.start() <= begin.end() + _MAX_KEY_BLOCK:
            spans.add(begin.start(), end.end(), "private_key")
        else:
            body = _PRIVATE_KEY_BODY.match(text, begin.end())
            spans.add(begin.start(), body.end() if body else begin.end(), "private_key")


def _scan_aws_secrets(text: str, lower: str, spans: _Spans) -> None:
    # A bare 40-character secret access key is only recognised shortly after "aws" or "secret" on
    # the same line, so only those windows are scanned, each stretch of text at most once.
    hits = sorted({i for word in ("aws", "secret", *_AWS_KEY_ID_PREFIXES) for i in _occurrences(lower, word)})
    n = len(text)
    scanned_to = 0
    line_end = -1
    for i in hits:
        if line_end < i:
            line_end = text.find("\n", i)
            line_end = n if line_end == -1 else line_end
        stop = min(line_end, i + 200)
        if stop <= scanned_to:
            continue
        # Never cut a run of key characters: a cut run would look like a 40-character key.
        while stop < n and text[stop] in _B64:
            stop += 1
        # Start a little before the old edge so a candidate that straddles it is seen whole.
        for m in _AWS_SECRET_CANDIDATE.finditer(text, max(i, scanned_to - 40), stop):
            if _aws_secret_in_context(m, text):
                spans.add(m.start(), m.end(), "aws_secret_access_key")
        scanned_to = stop


def _scan_assignments(text: str, lower: str, spans: _Spans) -> None:
    hits = sorted({i for word in _NAME_KEYWORDS for i in _occurrences(lower, word)})
    n = len(text)
    done = 0
    for hit in hits:
        if hit < done:
            continue
        start, end = hit, hit
        # Bounded expansion keeps a keyword inside a huge blob from costing quadratic time.
        while start > 0 and hit - start < 64 and text[start - 1] in _NAME_CHARS:
            start -= 1
        while end < n and end - hit < 64 and text[end] in _NAME_CHARS:
            end += 1
        done = end
        if text.endswith(MARK, 0, start):  # the kind inside our own `[REDACTED:token]`
            continue
        tail = _ASSIGN_TAIL.match(text, end)
        if tail is None:
            continue
        kind = secret_name_kind(text[start:end])
        if kind is None:
            continue
        group = next(g for g in ("dq", "sq", "uv") if tail.group(g) is not None)
        value = tail.group(group)
        password = kind == "password"
        if group == "uv":
            if (
                password
                and text.startswith("&", tail.end(group))
                and not (is_placeholder(value) or _NUMERIC.match(value))
            ):
                # A password may hold `&` (`password=abc&def`); where the `&` separates query
                # parameters instead, redacting the rest of the query is the safe mistake.
                value = _PASSWORD_VALUE.match(text, tail.start(group)).group()  # type: ignore[union-attr]
            value = value.rstrip(".)]}")
        spaced = bool(tail.group("pre") or tail.group("post"))
        if _assigned_value_is_secret(
            value, quoted=group != "uv", op=tail.group("op"), spaced=spaced, password=password
        ):
            v_start = tail.start(group)
            spans.add(v_start, v_start + len(value), kind)
            done = v_start + len(value)


def _aligned_lower(text: str) -> str:
    """`text.lower()` with the same length, so positions found in it are positions in `text`."""
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


# Every span `_scan` can add starts from an occurrence of one of these words in the lower-cased
# text: a detector's anchor, a keyword of a secret-holding name, or a word that gates the private
# key and bare AWS secret scans. A text with none of them has no secret, which one search proves.
# The search tries every word at every position, so it only pays on short texts (payload values,
# names), where it is ~15 times faster than the full scan; longer texts go straight to the scan.
_TRIGGERS = frozenset(
    {"private key", "aws", "secret", *_NAME_KEYWORDS, *(a for det in _DETECTORS for a in det.anchors)}
)
_ANY_TRIGGER = re.compile("|".join(re.escape(word) for word in sorted(_TRIGGERS, key=len, reverse=True)))
_QUICK_CHECK_MAX = 256


def _scan(text: str) -> list[_Span]:
    lower = _aligned_lower(text)
    if len(lower) <= _QUICK_CHECK_MAX and _ANY_TRIGGER.search(lower) is None:
        return []
    spans = _Spans()
    if "private key" in lower:
        _scan_private_keys(text, spans)
    for det in _DETECTORS:
        for anchor in det.anchors:
            next_from = 0
            for i in _occurrences(lower, anchor):
                if i < next_from or (i > 0 and text[i - 1] in det.not_after):
                    continue
                m = det.pattern.match(text, i)
                if m is None:
                    continue
                next_from = m.end()
                group = "pat" if m.groupdict().get("pat") else "s"
                s, e = m.span(group)
                if s < e and (det.accept is None or det.accept(m, text)):
                    begin = m.start() if det.keep_prefix else s
                    spans.add(begin, e, det.kind, s - begin)
    if any(word in lower for word in ("aws", "secret", *_AWS_KEY_ID_PREFIXES)):
        _scan_aws_secrets(text, lower, spans)
    _scan_assignments(text, lower, spans)
    return spans.items


def find_secrets(text: str) -> list[Finding]:
    """Every secret in `text`, in order, with the 1-based line it starts on."""
    items = _scan(text)
    if not items:
        return []
    findings: list[Finding] = []
    line, counted_to = 1, 0
    for span in items:
        line += text.count("\n", counted_to, span.start)
        counted_to = span.start
        findings.append(Finding(span.kind, span.start, span.end, line))
    return findings


def redact(text: str) -> str:
    """`text` with every secret replaced by `[REDACTED:<kind>]` (safe prefixes kept)."""
    items = _scan(text)
    if not items:
        return text
    out: list[str] = []
    last = 0
    for span in items:
        out.append(text[last : span.start + span.keep])
        out.append(_tag(span.kind))
        last = span.end
    out.append(text[last:])
    return "".join(out)


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value with secrets redacted: strings by `redact`, and the whole value of
    any key whose name says it holds a secret (`password`, `api_key`, `authorization`…).

    Numbers, booleans and None under such keys are kept (`max_tokens: 4096` is not a secret), and
    containers are walked rather than blanked, so usage counters under `tokens` survive.
    """
    return _redact_obj(obj, None)


_KEY_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")  # a key that is a name, not a sentence or a tag


@lru_cache(maxsize=1024)
def _key_kind(key: str) -> str | None:
    """`secret_name_kind` of a dict key that is a name. Cached: the same few keys come back in
    every payload and log record, and the answer depends on the key alone."""
    return secret_name_kind(key) if _KEY_NAME.match(key) else None


def _redact_obj(obj: Any, key: str | None) -> Any:
    if isinstance(obj, str):
        kind = _key_kind(key) if key else None
        if kind and not is_placeholder(obj) and not _NUMERIC.match(obj):
            return _tag(kind)
        return redact(obj)
    if isinstance(obj, dict):
        return {
            (redact(k) if isinstance(k, str) else k): _redact_obj(v, k if isinstance(k, str) else None)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_redact_obj(v, None) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_redact_obj(v, None) for v in obj)
    return obj


# --- logging -----------------------------------------------------------------------------------


_DONE_FLAG = "_orch_redacted"  # set on a record once, so a filter on several handlers works once


class RedactingFilter(logging.Filter):
    """Redacts a record's message (after %-formatting with its args), traceback and stack.

    The message is formatted here and `args` cleared, because a secret usually arrives as an
    argument and would otherwise be interpolated after the filter ran.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _DONE_FLAG, False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            # Leave the broken format to the handler's own error report, but without secrets in it.
            record.msg = redact(str(record.msg))
            record.args = redact_obj(record.args)
        else:
            record.msg = redact(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, _DONE_FLAG, True)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach one `RedactingFilter` to `logger` (the root logger by default) and to its handlers.

    Handler filters are what see records propagated from child loggers; logger filters only see
    records logged on that logger itself. Handlers added later need `handler.addFilter(returned)`.
    Calling this twice adds nothing new.
    """
    target = logger if logger is not None else logging.getLogger()
    existing = next((f for f in target.filters if isinstance(f, RedactingFilter)), None)
    flt = existing or RedactingFilter()
    if existing is None:
        target.addFilter(flt)
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
