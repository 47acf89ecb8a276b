"""The effect handler table: every kind has exactly one handler, decided once at start-up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.effects.port import Handler
from bot.effects.retry import classify
from bot.effects.table import EffectTableError, build_table
from bot.sop.effect_kinds import (
    OUTBOX_KINDS,
    Build,
    Draft,
    MalformedPayload,
    PublishArtifact,
    ThreadNote,
    parse,
)
from storage.models import Effect


async def _done(_effect: Effect) -> None:
    return None


def _all_kinds() -> dict[str, Handler]:
    return dict.fromkeys(OUTBOX_KINDS, _done)


def test_a_kind_without_a_handler_stops_the_start() -> None:
    handlers = _all_kinds()
    del handlers["slack.thread_note"]
    with pytest.raises(EffectTableError, match=r"no handler for slack\.thread_note"):
        build_table(handlers)


def test_a_handler_for_a_kind_that_does_not_exist_stops_the_start() -> None:
    handlers = {**_all_kinds(), "slack.post_somewhere": _done}
    with pytest.raises(EffectTableError, match=r"kinds that do not exist: slack\.post_somewhere"):
        build_table(handlers)


def test_a_row_that_does_not_fit_its_kind_fails_for_good_before_its_handler_runs() -> None:
    ran: list[str] = []

    async def note(effect: Effect) -> None:
        ran.append(effect.key)

    table = build_table({**_all_kinds(), "slack.thread_note": note})
    bad = Effect(key="n1", kind="slack.thread_note", payload={"text": 3.5}, created_at=datetime.now(UTC))
    with pytest.raises(MalformedPayload) as caught:
        asyncio.run(table["slack.thread_note"](bad))
    assert ran == []
    assert classify(caught.value).verdict == "permanent"
    # A field this version does not know (a row from another version) is left aside.
    good = Effect(
        key="n2", kind="slack.thread_note", payload={"text": "hi", "x": 1}, created_at=datetime.now(UTC)
    )
    asyncio.run(table["slack.thread_note"](good))
    assert ran == ["n2"]


def test_a_payload_is_stored_as_the_fields_it_was_given() -> None:
    assert ThreadNote(text="hi").data() == {"text": "hi"}
    assert Build(task_id=3, version=1).data() == {"task_id": 3, "version": 1}
    assert Draft(phase="prd", version=2, feedback=None).data() == {
        "phase": "prd",
        "version": 2,
        "feedback": None,
    }
    snapshot = PublishArtifact(artifact_id=7).model_copy(
        update={"record": {"id": "G-0001"}, "events_until": 4}
    )
    assert snapshot.data() == {"artifact_id": 7, "record": {"id": "G-0001"}, "events_until": 4}


def test_a_stored_payload_reads_back_as_its_kind() -> None:
    assert parse(
        "build", {"task_id": 3, "version": 2, "retries": 1, "retry_of": "build:G-0001:3:1"}
    ) == Build(task_id=3, version=2, retries=1, retry_of="build:G-0001:3:1")
    with pytest.raises(MalformedPayload):
        parse("build", {"task_id": 3, "colour": "blue"})
    with pytest.raises(MalformedPayload):
        parse("slack.nothing", {})


def test_agent_work_is_a_job_not_an_outbox_kind() -> None:
    with pytest.raises(EffectTableError, match=r"kinds that do not exist: build, draft"):
        build_table({**_all_kinds(), "draft": _done, "build": _done})
