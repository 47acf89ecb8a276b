"""A Slack Web API that answers junk: each effect is retried cleanly (junk is a transient failure: it is
retried with backoff, not failed), stores no junk, and the outbox loop keeps running.

The fake Slack answers every call from a script hypothesis writes: HTTP status, content type, body
(JSON of any shape, with or without `ok`, `ts`, `messages`; or not JSON at all) and Retry-After.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app import Container, build_container
from bot.services.unit import Actor
from bot.sop.phases import Decision
from sandbox.server import ServerThread
from storage.db import transaction
from storage.models import Artifact, Effect, Goal, SlackMessage
from tests.conftest import init_repo, make_settings

pytestmark = pytest.mark.slow

EXAMPLES = 200
TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
GOOD = (
    200,
    "application/json",
    json.dumps(
        {"ok": True, "ts": "1700000000.000100", "channel": "C_DEV", "messages": [], "channel_id": "C_DEV"}
    ),
    None,
)
KINDS = [
    "slack.post_card",
    "slack.update_card",
    "slack.post_artifact",
    "slack.mark_decided",
    "slack.thread_note",
    "slack.status",
]
FUZZED: dict[str, int] = {}


@dataclass
class FakeSlack:
    """Answers each Web API call with the next scripted response (the last one repeats)."""

    script: list[tuple[int, str, str, str | None]] = field(default_factory=lambda: [GOOD])
    calls: list[str] = field(default_factory=list)

    async def api(self, request: Request) -> Response:
        self.calls.append(request.path_params["method"])
        index = min(len(self.calls) - 1, len(self.script) - 1)
        status, content_type, body, retry_after = self.script[index]
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return Response(body, status_code=status, media_type=content_type, headers=headers)

    def answer(self, script: list[tuple[int, str, str, str | None]]) -> None:
        self.script, self.calls = script, []


class World:
    """The bot's container on the fake Slack; not a dataclass, so a failing example prints it in one line."""

    def __init__(self, container: Container, fake: FakeSlack, artifact_id: int) -> None:
        self.container, self.fake, self.artifact_id = container, fake, artifact_id
        self.keys = itertools.count(1)

    def __repr__(self) -> str:
        return f"World(artifact {self.artifact_id})"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("fuzz-webapi")
    fake = FakeSlack()
    server = ServerThread(
        Starlette(routes=[Route("/api/{method}", fake.api, methods=["GET", "POST"])])
    ).start()
    settings_ = make_settings(
        base,
        init_repo(base / "repo"),
        slack_bot_token="xoxb-fuzz-0000-token",
        slack_signing_secret="f" * 32,
        slack_api_url=f"{server.base_url}/api/",
    )
    container = build_container(settings_)
    goals = container.goals
    goals.start_goal(brief="Fuzz the Web API answers", actor=Actor("U_REQ"), channel_id="C_DEV")
    artifact = goals.record_draft(
        goal_id="G-0001",
        phase="scaffold_check",
        version=1,
        content="# Scaffold\n",
        summary="ok",
        drafted_by="test",
        offline=True,
    )
    assert artifact is not None and artifact.id is not None
    goals.decide(goal_id="G-0001", phase=None, sha256=None, decision=Decision.APPROVE, actor=Actor("U_APP1"))
    try:
        yield World(container, fake, artifact.id)
    finally:
        server.stop()


def reset(world: World, *, posted: bool) -> None:
    """The goal's messages as if posted (or not yet), so each handler has its work to do again."""
    ts = "1700000000.000001" if posted else None
    with transaction(world.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        artifact = session.get(Artifact, world.artifact_id)
        assert goal is not None and artifact is not None
        goal.card_ts, goal.thread_ts, artifact.message_ts = ts, ts, ts
        session.add_all([goal, artifact])
        for message in session.exec(select(SlackMessage)).all():
            session.delete(message)


def new_effect(world: World, kind: str, attempts: int) -> Effect:
    payload: dict[str, Any] = {"artifact_id": world.artifact_id, "text": "A note for the thread."}
    with transaction(world.container.engine) as session:
        effect = Effect(
            key=f"fuzz:{next(world.keys)}",
            kind=kind,
            goal_id="G-0001",
            payload=payload,
            attempts=attempts,
            created_at=world.container.clock(),
        )
        session.add(effect)
    return effect


def stored_ids(world: World) -> list[str | None]:
    with Session(world.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        artifact = session.get(Artifact, world.artifact_id)
        assert goal is not None and artifact is not None
        status = [m.ts for m in session.exec(select(SlackMessage)).all()]
        return [goal.card_ts, goal.thread_ts, artifact.message_ts, *status]


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["1.1", "1700000000.000200", "", "x" * 1000, "orch-e1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
# What Slack answers when all is well: an answer to any of the calls the effects make.
VALID = {
    "ok": True,
    "ts": "1700000000.000300",
    "channel": "C_DEV",
    "channel_id": "C_DEV",
    "messages": [{"ts": "1700000000.000300", "blocks": [{"block_id": "orch-e1"}]}],
    "response_metadata": {"next_cursor": ""},
    "upload_url": "http://127.0.0.1:9/upload",
    "file_id": "F1",
    "files": [{"id": "F1"}],
    "view": {"id": "V1"},
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    found: list[tuple[Any, ...]] = []
    for key, inner in items:
        found += [(*prefix, key), *_paths(inner, (*prefix, key))]
    return found


@st.composite
def almost_valid(draw: st.DrawFn) -> str:
    """A valid answer with one to three fields dropped or swapped for junk (JSON text)."""
    answer = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        *parent_path, key = draw(st.sampled_from(_paths(answer) or [("ok",)]))
        parent: Any = answer
        for step in parent_path:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(key, None)
        else:
            parent[key] = draw(JSONISH)
    return json.dumps(answer)


# The ts is what we keep from an answer: often, only it is wrong.
WRONG_TS = JSONISH.filter(lambda v: not (isinstance(v, str) and re.match(r"^\d+\.\d+$", v))).map(
    lambda ts: json.dumps({**VALID, "ts": ts})
)
BODIES = st.one_of(
    almost_valid(),
    almost_valid(),
    WRONG_TS,
    JSONISH.map(json.dumps),
    st.text(max_size=200),
    st.sampled_from(["", "<html>502 Bad Gateway</html>", "{", "null", '{"ok": true}']),
)
RESPONSES = st.one_of(
    st.tuples(st.just(200), st.just("application/json"), BODIES, st.none()),
    st.tuples(
        st.sampled_from([400, 404, 500, 502, 503]),
        st.sampled_from(["application/json", "text/html"]),
        BODIES,
        st.none(),
    ),
    # Long or junk waits only: a short one is slept in place (slack_sdk's own behaviour, tested below).
    st.tuples(
        st.just(429),
        st.just("application/json"),
        st.just('{"ok": false, "error": "ratelimited"}'),
        st.sampled_from([None, "abc", "-3", "3600", "99999999"]),
    ),
    st.tuples(st.just(200), st.sampled_from(["text/html", "text/plain"]), BODIES, st.none()),
)


@given(
    kind=st.sampled_from(KINDS),
    script=st.lists(RESPONSES, min_size=1, max_size=5),
    posted=st.booleans(),
    attempts=st.sampled_from([0, 0, 1, 2, 5]),
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: the fake's script is the whole story
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_junk_answers_leave_each_effect_retried_or_failed_and_no_junk_stored(
    world: World, kind: str, script: list[tuple[int, str, str, str | None]], posted: bool, attempts: int
) -> None:
    FUZZED[kind] = FUZZED.get(kind, 0) + 1
    reset(world, posted=posted)
    effect = new_effect(world, kind, attempts)
    world.fake.answer(script)
    # Bounded: a Retry-After of a day must not hold the outbox loop (a rate-limit retry may wait briefly).
    ok = asyncio.run(asyncio.wait_for(world.container.dispatcher.run_one(effect), timeout=10))

    with Session(world.container.engine) as session:
        row = session.get(Effect, effect.id)
    assert row is not None and row.attempts == attempts + 1
    if ok:
        assert row.status == "done"
    else:
        # Junk is no reason to give up: the effect waits for its retry (the horizon is hours away).
        assert row.last_error and row.status == "pending" and row.not_before is not None
    assert all(ts is None or TS.match(ts) for ts in stored_ids(world)), stored_ids(world)


def test_the_outbox_loop_survives_junk_and_then_delivers(world: World) -> None:
    async def scenario() -> tuple[bool, str]:
        dispatcher = world.container.dispatcher
        reset(world, posted=True)
        world.fake.answer(
            [
                (200, "application/json", json.dumps({"ok": True, "ts": {"no": 1}}), None),
                (500, "text/html", "<html>oops</html>", None),
                (200, "text/plain", "{", None),
            ]
        )
        await dispatcher.start()
        try:
            junk = [new_effect(world, kind, 0) for kind in KINDS for _ in range(3)]
            dispatcher.kick()
            await asyncio.wait_for(dispatcher.idle.wait(), 30)
            world.fake.answer([GOOD])
            good = new_effect(world, "slack.thread_note", 0)
            # The goal's effects keep their order: the later ones waited behind the first that
            # failed. Its retry comes due (as if its backoff had passed), and then all of them run.
            with transaction(world.container.engine) as session:
                for effect in session.exec(select(Effect).where(Effect.status == "pending")).all():
                    effect.not_before = None
                    session.add(effect)
            dispatcher.idle.clear()
            dispatcher.kick()
            await asyncio.wait_for(dispatcher.idle.wait(), 30)
            alive = dispatcher._task is not None and not dispatcher._task.done()
            with Session(world.container.engine) as session:
                status = session.get(Effect, good.id).status  # type: ignore[union-attr]
                tried = [session.get(Effect, e.id).attempts for e in junk]  # type: ignore[union-attr]
            assert min(tried) >= 1
            return alive, status
        finally:
            await dispatcher.stop()

    alive, status = asyncio.run(scenario())
    assert alive and status == "done"
    print(f"Web API answers fuzzed per effect kind: {FUZZED}")


@pytest.mark.parametrize(
    ("status", "header", "in_place"),
    [
        (429, "0", True),
        (429, "5", True),
        (429, "6", False),
        (429, "3600", False),
        (429, "abc", False),
        (429, None, False),
        (429, "-1", False),
        (500, "1", False),
    ],
)
def test_only_a_short_rate_limit_wait_is_slept_in_place(
    status: int, header: str | None, in_place: bool
) -> None:
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.response import HttpResponse
    from slack_sdk.http_retry.state import RetryState

    from bot.slack_guard import ShortRateLimitRetry, ShortRateLimitRetrySync

    response = HttpResponse(status_code=status, headers={"Retry-After": [header]} if header else {})
    request = HttpRequest(method="POST", url="https://slack.invalid/api/chat.postMessage", headers={})
    handler, sync = ShortRateLimitRetry(max_retry_count=3), ShortRateLimitRetrySync(max_retry_count=3)
    assert (
        asyncio.run(handler.can_retry_async(state=RetryState(), request=request, response=response))
        is in_place
    )
    assert sync.can_retry(state=RetryState(), request=request, response=response) is in_place
