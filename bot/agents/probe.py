"""Is the model answering? A cheap look before a failed draft or build is tried again by itself.

`GET {base_url}/models` spends no tokens and answers in milliseconds on OpenAI and on
OpenAI-compatible servers; any 2xx means the endpoint is back. Work that needs no model (the
offline drafter and builder) always "answers".
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.config import secret_value, setting

log = logging.getLogger(__name__)
OPENAI_BASE = "https://api.openai.com/v1"


def endpoint_for(settings: Any, kind: str) -> tuple[str, str | None] | None:
    """(base URL, API key) of the model the work of `kind` ("draft" | "build") calls, or None.

    `settings` is `Settings` or any settings-like object (`bot.config.setting`)."""
    key = secret_value(setting(settings, "openai_api_key"))
    if kind == "build":
        if setting(settings, "builder") == "codex":
            url = setting(settings, "codex_provider_url")
            return (str(url), key) if url else (OPENAI_BASE, key)
        if setting(settings, "implementer") != "manager":
            return None
    if setting(settings, "backend") != "openai":
        return None
    return (str(setting(settings, "openai_base_url") or OPENAI_BASE), key)


async def model_answers(settings: Any, kind: str, *, timeout: float = 10.0) -> bool:
    found = endpoint_for(settings, kind)
    if found is None:
        return True
    base, key = found
    headers = {"authorization": f"Bearer {key}"} if key else {}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            resp = await client.get(base.rstrip("/") + "/models", headers=headers)
    except httpx.HTTPError as exc:
        log.info("the model at %s does not answer yet: %s", base, type(exc).__name__)
        return False
    return resp.is_success
