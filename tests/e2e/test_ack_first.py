"""Reads answer after the ack: `/orch status` and `/orch list` ack at once and reply through the
response_url, so a busy database can never push the ack past Slack's 3 s window."""

from __future__ import annotations

import pytest

from tests.conftest import Live

pytestmark = pytest.mark.slow


def test_status_is_acknowledged_empty_and_answered_ephemerally(live: Live) -> None:
    delivery = live.sb.slash("U_REQ", "C_DEV", "status")
    assert delivery.status == 200 and not delivery.body.strip()
    answer = live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="no goals in progress")
    assert "/orch start" in answer.text
    assert live.sb.messages("C_DEV") == []  # only the person who asked sees it


def test_list_shows_the_channels_goals_after_the_ack(live: Live) -> None:
    live.sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
    live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    delivery = live.sb.slash("U_APP1", "C_DEV", "list")
    assert delivery.status == 200 and not delivery.body.strip()
    answer = live.sb.wait_for_ephemeral("U_APP1", "C_DEV", text_contains="Goals in this channel")
    assert "G-0001" in answer.text
