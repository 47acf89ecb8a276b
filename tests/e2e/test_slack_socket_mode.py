"""Socket Mode runs the same listeners as HTTP mode: a command and a click over a local WebSocket."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from bot.local.stack import SANDBOX_BOT_TOKEN
from bot.web.socket_mode import SocketModeBot
from sandbox import Sandbox
from sandbox.socket_mode import SocketModeGateway
from tests.conftest import make_settings

APP_TOKEN = "xapp-1-A0SANDBOX-test-token"


@pytest.mark.slow
def test_start_and_approve_over_socket_mode(tmp_path: Path, target_repo: Path) -> None:
    with (
        Sandbox(signing_secret=secrets.token_hex(8), bot_token=SANDBOX_BOT_TOKEN) as sb,
        SocketModeGateway(sb, app_token=APP_TOKEN) as gateway,
    ):
        settings = make_settings(
            tmp_path,
            target_repo,
            slack_bot_token=SANDBOX_BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=sb.api_url,
        )
        assert settings.socket_mode and settings.slack_signing_secret is None  # no request URL at all
        bot = SocketModeBot(settings).start()
        try:
            gateway.wait_connected()
            assert [c.ok for c in sb.calls("apps.connections.open")] == [True]

            delivery = sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
            assert delivery.status == 200 and delivery.elapsed < 3  # acknowledged by envelope_id
            card = sb.wait_for_message("C_DEV", text_contains="G-0001")
            artifact = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=20)

            click = sb.click("U_APP1", artifact, "Approve")
            assert click.status == 200
            sb.wait_for(
                lambda: "Approve" not in sb.message("C_DEV", artifact.ts).buttons,
                what="the decision to replace the buttons",
            )
            sb.wait_for_message(
                "C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD v1", timeout=20
            )
            assert "✅ Approved by @avery" in sb.transcript("C_DEV", card.ts)

            # A slash command's answer comes back in the acknowledgement and shows like an HTTP answer.
            help_reply = sb.slash("U_REQ", "C_DEV", "help")
            assert "/orch start" in (help_reply.json or {}).get("text", "")
            sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="/orch start")
            # Nothing went over HTTP: the sandbox has no request URL to deliver to.
            assert sb.request_url is None
        finally:
            bot.stop()
