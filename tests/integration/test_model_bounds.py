"""A hung model holds a draft for a bounded time: per call (ORCH_MODEL_TIMEOUT) and per draft
(ORCH_DRAFT_DEADLINE), against a real local server that does not answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.agents.drafting import DraftError, DraftRequest
from bot.agents.sdk import AgentsDrafter, make_drafter
from bot.agents.templates import load_template
from bot.sop.phases import Phase
from sandbox.models import ChatServer


@pytest.fixture
def hung_model() -> Iterator[ChatServer]:
    with ChatServer(default="{}") as server:
        server.fail_next(10, "hang")
        yield server


class Settings:
    backend = "openai"
    openai_api = "chat_completions"
    drafter_model = "local-model"

    def __init__(self, base_url: str, **bounds: float) -> None:
        self.openai_base_url = base_url
        self.__dict__.update(bounds)


def draft(settings: Settings) -> tuple[str, float]:
    drafter = make_drafter(settings)
    assert isinstance(drafter, AgentsDrafter)
    req = DraftRequest(goal_id="G-0001", title="CSV", brief="Add a CSV export.", phase=Phase.PRD,
                       template=load_template(Phase.PRD))

    async def go() -> tuple[str, float]:
        started = time.monotonic()
        try:
            # The outer bound only keeps a regression from hanging the suite.
            await asyncio.wait_for(drafter.draft(req), timeout=20)
        except DraftError as exc:
            return str(exc), time.monotonic() - started
        finally:
            assert drafter.model_provider is not None
            await drafter.model_provider.aclose()
        raise AssertionError("a hung model produced a draft")

    return asyncio.run(go())


def test_each_model_call_is_cut_off_after_the_model_timeout(hung_model: ChatServer) -> None:
    error, took = draft(Settings(hung_model.base_url, model_timeout=0.3, draft_deadline=60))
    assert "could not be reached or failed" in error and "timed out" in error.lower()
    assert took < 5  # one call and the client's one retry, 0.3 s each, not 600 s
    assert len(hung_model.requests) == 2


def test_a_draft_is_cut_off_at_its_deadline_whatever_the_calls(hung_model: ChatServer) -> None:
    error, took = draft(Settings(hung_model.base_url, model_timeout=60, draft_deadline=0.5))
    assert "did not finish the PRD draft within 0.5 s" in error
    assert took < 5


def test_the_probe_before_an_automatic_retry_asks_the_models_list_and_nothing_else() -> None:
    from bot.agents.probe import endpoint_for, model_answers

    with ChatServer(default="{}") as model:
        settings = Settings(model.base_url)
        assert endpoint_for(settings, "draft") == (model.base_url, None)
        model.down()
        assert asyncio.run(model_answers(settings, "draft")) is False
        model.up()
        assert asyncio.run(model_answers(settings, "draft")) is True
        assert model.requests == []  # GET /models only: no completion, no tokens spent

    class Offline:
        backend = "offline"
        builder = "offline"
        implementer = "direct"

    assert endpoint_for(Offline(), "draft") is None and endpoint_for(Offline(), "build") is None
    assert asyncio.run(model_answers(Offline(), "build")) is True  # no model: nothing to wait for
