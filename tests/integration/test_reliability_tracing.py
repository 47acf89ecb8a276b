"""With ORCH_OTEL=console the live bot emits a span per Slack request and per outbox effect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.observability import tracing
from storage.models import Effect
from tests.conftest import start_live


@pytest.fixture(autouse=True)
def tracing_off_afterwards() -> Iterator[None]:
    yield
    tracing.configure_tracing("off")


def spans(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith('{"name"'):
            found.append(json.loads(line))
    return found


def test_console_tracing_shows_each_slack_request_and_each_effect(
    tmp_path: Path, target_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = start_live(tmp_path, target_repo, otel="console")
    try:
        live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        scaffold = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")
        live.sb.click("U_APP1", scaffold, "Approve")
        live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", after=scaffold, timeout=30)
        sent = len(live.sb.deliveries)
        live.bot.drain()  # the repository's lane may still be committing: let its spans end
    finally:
        live.bot.stop()
        live.sb.stop()
    found = spans(capsys.readouterr().out)

    requests = [s for s in found if s["name"] == "slack.request"]
    assert len(requests) == sent == 2
    assert {r["attributes"]["slack.kind"] for r in requests} == {"command", "block_actions"}
    assert all(r["attributes"]["http.response.status_code"] == 200 for r in requests)
    assert {r["attributes"]["slack.user"] for r in requests} == {"U_REQ", "U_APP1"}

    with Session(live.container.engine) as session:
        done = {e.key: e.kind for e in session.exec(select(Effect).where(Effect.status == "done")).all()}
    traced = {s["attributes"]["orch.effect.key"]: s for s in found if s["name"].startswith("effect ")}
    assert done, "the flow ran no effects"
    for key, kind in done.items():
        assert key in traced, f"no span for effect {key}"
        assert traced[key]["name"] == f"effect {kind}"
        assert traced[key]["attributes"]["orch.goal_id"] == "G-0001"
    assert {s["attributes"]["orch.effect.outcome"] for s in traced.values()} <= {
        "done",
        "retry_later",
        "error",
    }
    # Each kind the flow needs was traced: the card, the posts and the repo writes, and the drafts
    # (agent work runs as jobs, each with a span of its own).
    assert {"slack.post_card", "slack.post_artifact", "repo.publish_state"} <= set(done.values())
    jobs = {s["attributes"]["orch.job.key"]: s for s in found if s["name"].startswith("job ")}
    assert {s["name"] for s in jobs.values()} == {"job draft"}
    assert {s["attributes"]["orch.job.outcome"] for s in jobs.values()} == {"succeeded"}
