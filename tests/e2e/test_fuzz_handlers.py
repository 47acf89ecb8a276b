"""Signed junk through the real HTTP endpoint: every answer is 2xx or 4xx, no listener crashes, and no
invalid payload changes anything.

Each payload starts from the shape Slack sends (a slash command, a button click, a modal submission, a
shortcut, an event) and hypothesis deletes fields, swaps values for junk of any type (nested lists and
objects, huge or odd strings) and adds fields. The live bot is shared by the module; after each batch a
sentinel request that needs a Slack call after its ack gives late listeners time to fail loudly.
"""

from __future__ import annotations

import copy
import json
import logging
import string
import traceback
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from bot.blocks import encode_button_value
from bot.services.goals import MAX_BRIEF
from storage.audit import AuditEntry
from storage.models import Approval, Artifact, Effect, Goal, ModeRequest
from tests.conftest import Live

pytestmark = pytest.mark.slow

EXAMPLES = 200
# No shrinking: replaying against a live bot whose state moved on would only muddle the first failure.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZED: dict[str, int] = {}  # kind → inputs sent, for the closing figures
ANSWERS: dict[str, int] = {}  # "kind status" → how many
ANSWER_HERE = "https://hooks.slack.invalid/response"  # replaced by a URL the sandbox answers

ODD = [
    "",
    " ",
    "\x00",
    "x" * 40_000,
    "😀" * 2_000,
    "\u202e\u200b\ufeff",
    "<!channel> <@U_APP1> <#C_DEV>",
    "`" * 300,
    "G-0001",
    "G-9999",
    '{"g":"G-0001"}',
    "../../etc/passwd",
    "null",
    "[]",
    "{}",
    "\\ud800",
    "-" * 5,
    "%00",
    "$(touch x)",
    "start",
    "1.1",
    "0",
    "-1",
    "9" * 400,
]
texts = st.one_of(st.text(max_size=120), st.sampled_from(ODD))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), texts
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ids = st.one_of(
    st.sampled_from(["U_OUT", "C_DEV", "C_NOPE", "D_OUT", "V1", "T0SANDBOX"]),
    st.text(string.ascii_uppercase + string.digits + "_", min_size=1, max_size=12),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a payload: object keys and list indexes, nested."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, inner in items:
        found.append((*prefix, key))
        found += _paths(inner, (*prefix, key))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """The payload as Slack sends it with up to three faults: a field dropped, swapped for junk, or added."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3]))):
        paths = _paths(payload)
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent = payload
        for step in parent_path:
            parent = parent[step]
        fault = draw(st.sampled_from(["drop", "junk", "junk", "add"]))
        if fault == "drop" and isinstance(parent, dict):
            del parent[key]
        elif fault == "add" and isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=8))] = draw(junk)
        else:
            parent[key] = draw(junk)
    return payload


def would_start_a_goal(text: str) -> bool:
    """A well-formed start (or a digest): valid input that rightly changes state; not what we fuzz here."""
    sub, _, rest = text.strip().partition(" ")
    if sub.lower() in ("digest", "learn", "metrics"):
        return True
    return sub.lower() == "start" and 0 < len(rest.strip()) <= MAX_BRIEF


class Records(list[logging.LogRecord]):
    """Collected log records; a short repr, since hypothesis prints a failing example's arguments."""

    def __repr__(self) -> str:
        return f"<{len(self)} error records>"


class Target:
    """The module's live bot, with a short repr for the same reason."""

    def __init__(self, live: Live) -> None:
        self.live = live

    def __repr__(self) -> str:
        return "<the shared live bot>"


@pytest.fixture(scope="module")
def bot(shared_live: Live) -> Target:
    return Target(shared_live)


@pytest.fixture(scope="module")
def errors() -> Iterator[list[logging.LogRecord]]:
    """Every ERROR record (or record with a traceback) logged anywhere in the process while fuzzing."""
    found = Records()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR or record.exc_info:
                found.append(record)

    handler = Collect(logging.DEBUG)
    watched = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")]
    for logger in watched:
        logger.addHandler(handler)
    yield found
    for logger in watched:
        logger.removeHandler(handler)


def snapshot(live: Live) -> dict[str, Any]:
    """What an invalid payload must not change (refusals may be audited; nothing else may be)."""
    with Session(live.container.engine) as session:

        def count(model: Any) -> int:
            return int(session.exec(select(func.count()).select_from(model)).one())

        audited = session.exec(select(AuditEntry.action)).all()
        return {
            "goals": count(Goal),
            "artifacts": count(Artifact),
            "approvals": count(Approval),
            "effects": count(Effect),
            "mode_requests": count(ModeRequest),
            "audit": sorted(a for a in audited if not a.endswith(".refused")),
        }


def send(live: Live, kind: str, body: str, content_type: str) -> int:
    status = live.sb.deliver_raw(body, content_type).status
    FUZZED[kind] = FUZZED.get(kind, 0) + 1
    ANSWERS[f"{kind} {status}"] = ANSWERS.get(f"{kind} {status}", 0) + 1
    assert status < 500, f"{kind} got {status} for {body[:300]!r}"
    return status


def answerable(value: Any, live: Live) -> Any:
    """The payload with its response URL pointing at the sandbox (which answers 404 to it, like a stale one)."""
    if value == ANSWER_HERE:
        return f"{live.sb.base_url}/_fuzz/response"
    if isinstance(value, dict):
        return {k: answerable(v, live) for k, v in value.items()}
    if isinstance(value, list):
        return [answerable(v, live) for v in value]
    return value


def interaction(live: Live, kind: str, payload: Any) -> int:
    return send(
        live,
        kind,
        urllib.parse.urlencode({"payload": json.dumps(answerable(payload, live))}),
        "application/x-www-form-urlencoded",
    )


def settle_and_check(live: Live, errors: list[logging.LogRecord], before: dict[str, Any]) -> None:
    """A sentinel that needs a Slack call after its ack, then: nothing logged as broken, nothing changed."""
    sb = live.sb
    seen = len(sb.ephemerals("U_APP2"))
    sb.mention("U_APP2", "C_DEV", "hello")
    sb.wait_for(lambda: len(sb.ephemerals("U_APP2")) > seen or None, timeout=30, what="the sentinel's answer")
    broken = [f"{r.name}: {r.getMessage()[:300]}" for r in errors]
    for record in errors[:3]:  # the first tracebacks, to find the line
        if record.exc_info:
            print("".join(traceback.format_exception(*record.exc_info)))
    errors.clear()
    assert broken == []
    assert snapshot(live) == before


SLASH = {
    "command": "/orch",
    "text": "status",
    "user_id": "U_OUT",
    "user_name": "oscar",
    "channel_id": "C_DEV",
    "channel_name": "dev",
    "team_id": "T0SANDBOX",
    "trigger_id": "1.2.sandbox",
    "response_url": ANSWER_HERE,
    "api_app_id": "A0SANDBOX",
}
SUBCOMMANDS = st.sampled_from(
    ["status", "list", "cancel", "approvers", "help", "", "mode", "rerequest", "frob"]
)


@given(
    fields=mutated({k: v for k, v in SLASH.items() if k != "text"}),
    text=st.one_of(
        texts, st.tuples(SUBCOMMANDS, texts).map(" ".join), st.just("start " + "x" * (MAX_BRIEF + 1))
    ),
)
@FUZZ
def test_fuzzed_slash_commands(bot: Target, errors: list[logging.LogRecord], fields: Any, text: str) -> None:
    if would_start_a_goal(text):
        return
    form = (
        {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()}
        if isinstance(fields, dict)
        else {"junk": json.dumps(fields)}
    )
    form = answerable(form, bot.live)
    form["text"] = text
    send(bot.live, "slash command", urllib.parse.urlencode(form), "application/x-www-form-urlencoded")


BUTTON_VALUES = st.one_of(
    texts,
    st.just(encode_button_value("G-9999", "prd", 1, "a" * 64)),
    st.just(encode_button_value("G-0001", "implementation", 2, "b" * 64, task_id=1)),
    junk,
)
ACTIONS = st.sampled_from(
    [
        "orch_approve",
        "orch_request_changes",
        "orch_reject",
        "orch_request_elevation",
        "orch_grant_mode",
        "orch_deny_mode",
        "orch_rerequest",
        "orch_cancel_job",
        "nope",
    ]
)


@st.composite
def block_actions(draw: st.DrawFn) -> Any:
    base = {
        "type": "block_actions",
        "user": {"id": "U_OUT", "name": "oscar"},
        "trigger_id": "1.2.sandbox",
        "team": {"id": "T0SANDBOX"},
        "channel": {"id": "C_DEV", "name": "dev"},
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": "C_DEV"},
        "message": {"ts": "1.000001", "thread_ts": "1.000000", "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": draw(ACTIONS),
                "block_id": "b",
                "value": draw(BUTTON_VALUES),
                "action_ts": "1.5",
            }
        ],
    }
    return draw(mutated(base))


@given(payload=block_actions())
@FUZZ
def test_fuzzed_block_actions(bot: Target, errors: list[logging.LogRecord], payload: Any) -> None:
    interaction(bot.live, "block_actions", payload)


VIEWS = st.sampled_from(
    ["orch_start_modal", "orch_feedback_modal", "orch_reject_modal", "orch_elevate_modal", "x"]
)
FIELDS = st.one_of(
    st.sampled_from(["feedback", "reason", "title", "justification", "mode", "approvers", "priority"]),
    st.text(max_size=8),
)
ELEMENT = st.one_of(
    st.fixed_dictionaries({"type": st.just("plain_text_input"), "value": st.one_of(st.none(), texts)}),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["static_select", "radio_buttons"]),
            "selected_option": st.one_of(st.none(), st.fixed_dictionaries({"value": texts}), junk),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("multi_users_select"), "selected_users": st.one_of(st.lists(ids, max_size=3), junk)}
    ),
    junk,
)
VALUES = st.one_of(st.dictionaries(FIELDS, st.dictionaries(FIELDS, ELEMENT, max_size=2), max_size=3), junk)
METADATA = st.one_of(
    texts,
    junk.map(json.dumps),
    st.fixed_dictionaries(
        {
            "value": BUTTON_VALUES,
            "goal_id": st.sampled_from(["G-9999", "G-0001", "x"]),
            "channel": ids,
            "ts": texts,
        }
    ).map(json.dumps),
)


@st.composite
def view_submissions(draw: st.DrawFn) -> Any:
    base = {
        "type": "view_submission",
        "user": {"id": "U_OUT"},
        "trigger_id": "1.2.sandbox",
        "team": {"id": "T0SANDBOX"},
        "view": {
            "id": "V0FUZZ",
            "hash": "1.2",
            "type": "modal",
            "callback_id": draw(VIEWS),
            "private_metadata": draw(METADATA),
            "state": {"values": draw(VALUES)},
        },
    }
    return draw(mutated(base))


@given(payload=view_submissions())
@FUZZ
def test_fuzzed_view_submissions(bot: Target, errors: list[logging.LogRecord], payload: Any) -> None:
    text = json.dumps(payload)
    if "orch_start_modal" in text and "brief" in text:
        return  # a start modal with a brief in it may be a valid request, not junk
    interaction(bot.live, "view_submission", payload)


@st.composite
def shortcuts(draw: st.DrawFn) -> Any:
    ts = draw(texts)
    base = {
        "type": draw(st.sampled_from(["message_action", "shortcut"])),
        "callback_id": "orch_goal_from_thread",
        "user": {"id": "U_OUT"},
        "trigger_id": "1.2.sandbox",
        "team": {"id": "T0SANDBOX"},
        "channel": {"id": draw(ids)},
        "message_ts": ts,
        "message": {"ts": ts, "text": "x"},
        "response_url": ANSWER_HERE,
    }
    return draw(mutated(base))


@given(payload=shortcuts())
@FUZZ
def test_fuzzed_shortcuts(bot: Target, errors: list[logging.LogRecord], payload: Any) -> None:
    interaction(bot.live, "shortcut", payload)


EVENTS = st.sampled_from(["app_mention", "message", "app_home_opened", "reaction_added", "nope"])


@st.composite
def events(draw: st.DrawFn) -> Any:
    user = draw(ids)
    base = {
        "type": "event_callback",
        "token": "t",
        "team_id": "T0SANDBOX",
        "api_app_id": "A0SANDBOX",
        "event_id": "Ev" + user,
        "event_time": 1,
        "event": {
            "type": draw(EVENTS),
            "user": user,
            "channel": draw(ids),
            "text": draw(texts),
            "ts": "1.1",
            "thread_ts": "1.0",
            "channel_type": "im",
            "tab": "home",
            "event_ts": "1.1",
        },
    }
    return draw(mutated(base))


@given(envelope=events())
@FUZZ
def test_fuzzed_events(bot: Target, errors: list[logging.LogRecord], envelope: Any) -> None:
    event = envelope.get("event") if isinstance(envelope, dict) else None
    if isinstance(event, dict) and would_start_a_goal(str(event.get("text") or "").replace("<@UBOT>", "")):
        return
    send(bot.live, "event", json.dumps(envelope), "application/json")


def test_none_of_the_fuzzed_inputs_broke_a_listener_or_changed_state(
    shared_live: Live, errors: list[logging.LogRecord]
) -> None:
    """Runs after the fuzzers above (same module, file order): the sentinel, the logs, the state."""
    assert sum(FUZZED.values()) >= 4 * EXAMPLES, FUZZED
    settle_and_check(
        shared_live,
        errors,
        {"goals": 0, "artifacts": 0, "approvals": 0, "effects": 0, "mode_requests": 0, "audit": []},
    )
    print(f"fuzzed inputs: {FUZZED}; answers: {ANSWERS}")
