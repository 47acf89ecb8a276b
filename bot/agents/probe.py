"""Is the model answering? A cheap look before a failed draft or build is tried again by itself.

`GET {base_url}/models` spends no tokens and answers in milliseconds on OpenAI and on
OpenAI-compatible servers; any 2xx means the endpoint is back. Work that needs no model (the
offline drafter and builder) always "answers".
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)
OPENAI_BASE = "https://api.openai.com/v1"


def _secret(value: Any) -> str | None:
    if value is not None and hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return str(value) if value else None


def endpoint_for(settings: Any, kind: str) -> tuple[str, str | None] | None:
    """(base URL, API key) of the model the work of `kind` ("draft" | "build") calls, or None."""
    openai = (
        str(getattr(settings, "backend", "offline")) == "openai",
        getattr(settings, "openai_base_url", None),
    )
    key = _secret(getattr(settings, "openai_api_key", None))
    if kind == "build":
        if getattr(settings, "builder", "offline") == "codex":
            url = getattr(settings, "codex_provider_url", None)
            return (str(url), key) if url else (OPENAI_BASE, key)
        if getattr(settings, "implementer", "direct") != "manager":
            return None
    if not openai[0]:
        return None
    return (str(openai[1] or OPENAI_BASE), key)


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
