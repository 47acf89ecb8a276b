"""Requests that are not from Slack, or not well-formed, are refused and change nothing."""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import Session, func, select

from sandbox import Tamper
from storage.audit import AuditEntry
from storage.models import Goal
from tests.conftest import Live


def counts(live: Live) -> tuple[int, int]:
    with Session(live.container.engine) as session:
        return (
            session.exec(select(func.count()).select_from(Goal)).one(),
            session.exec(select(func.count()).select_from(AuditEntry)).one(),
        )


@pytest.mark.parametrize(
    "tamper",
    [
        Tamper(secret="not-the-signing-secret"),
        Tamper(alter_body=True),
        Tamper(drop_headers=("X-Slack-Signature",)),
        Tamper(drop_headers=("X-Slack-Request-Timestamp",)),
        Tamper(timestamp=-301),
        Tamper(timestamp=+400),
    ],
    ids=[
        "wrong-secret",
        "altered-body",
        "no-signature",
        "no-timestamp",
        "stale-timestamp",
        "future-timestamp",
    ],
)
def test_unsigned_or_stale_requests_get_401_and_change_nothing(shared_live: Live, tamper: Tamper) -> None:
    live = shared_live
    if tamper.timestamp is not None:  # an offset from now, taken when the test runs
        tamper = Tamper(timestamp=int(time.time()) + tamper.timestamp)
    before = counts(live)
    delivery = live.sb.slash("U_REQ", "C_DEV", "start Something that must not be started", tamper=tamper)
    assert delivery.status == 401
    assert counts(live) == before
    assert live.sb.messages("C_DEV") == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        ("payload=" + json.dumps({"type": "block_actions"}), "application/x-www-form-urlencoded"),
        ("payload=" + json.dumps([1, 2, 3]), "application/x-www-form-urlencoded"),
        ("command=%2Forch&text=start+x", "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
        (json.dumps({"type": "event_callback", "event": "nope"}), "application/json"),
        (json.dumps(["event_callback"]), "application/json"),
        ("\udcff".encode("utf-8", "surrogatepass"), "application/json"),
        ("just some text", "text/plain"),
    ],
    ids=[
        "bad-payload-json",
        "payload-without-user",
        "payload-not-object",
        "command-without-user",
        "bad-json",
        "event-not-object",
        "json-not-object",
        "not-utf8",
        "plain-text",
    ],
)
def test_malformed_but_signed_requests_get_400_and_change_nothing(
    shared_live: Live, body: str | bytes, content_type: str
) -> None:
    live = shared_live
    before = counts(live)
    delivery = live.sb.deliver_raw(body, content_type)
    assert 400 <= delivery.status < 500
    assert counts(live) == before


def test_health_answers_ok_once_ready(live: Live) -> None:
    import httpx

    response = httpx.get(f"{live.bot.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["ok"] is True
