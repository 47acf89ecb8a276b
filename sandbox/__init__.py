"""Slack in a box: a local Slack Web API with state, signed deliveries to a bot, and a test API.

It is the other side of the wire, so it imports nothing from bot/, handlers/ or storage/.
"""

from collections.abc import Callable
from typing import Any

from sandbox.delivery import Delivery, DeliveryError, Tamper, sign
from sandbox.snapshots import Message, View
from sandbox.state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, ApiCall, ManualClock
from sandbox.workspace import C_DEV, C_GENERAL, S_APPROVERS, U_APP1, U_APP2, U_OUT, U_REQ, Sandbox

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "C_DEV",
    "C_GENERAL",
    "S_APPROVERS",
    "TEAM_ID",
    "U_APP1",
    "U_APP2",
    "U_OUT",
    "U_REQ",
    "ApiCall",
    "Delivery",
    "DeliveryError",
    "ManualClock",
    "Message",
    "Sandbox",
    "Tamper",
    "View",
    "serve",
    "sign",
]


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 3001,
    request_url: str | None = None,
    signing_secret: str,
    bot_token: str,
    on_ready: Callable[[Sandbox], None] | None = None,
    **options: Any,
) -> None:
    """Run a seeded sandbox in the foreground until interrupted (`python -m sandbox`, `orch sandbox`).

    `port=0` picks a free port; `on_ready(sandbox)` learns it (`sandbox.api_url`) once it is bound.
    """
    sandbox = Sandbox(
        host=host,
        port=port,
        request_url=request_url,
        signing_secret=signing_secret,
        bot_token=bot_token,
        **options,
    )
    try:
        sandbox.serve_forever(on_ready)
    finally:
        sandbox.stop()
