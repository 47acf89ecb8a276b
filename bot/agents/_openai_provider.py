"""A model provider bound to one OpenAI-compatible endpoint (OpenAI itself or a local server).

Kept apart from `sdk.py` because it imports `agents` and `openai` at module level; it is only
imported when the openai backend is chosen.
"""

from __future__ import annotations

from typing import Any, Literal

from agents import Model, ModelProvider, OpenAIChatCompletionsModel, OpenAIResponsesModel
from openai import AsyncOpenAI

# A local test server ignores the key, but the client refuses to start without one.
LOCAL_PLACEHOLDER_KEY = "local-server-no-key"


class OpenAIClientProvider(ModelProvider):
    """Resolves any model name to a model on one `AsyncOpenAI` client.

    With no `api_key` the client reads `OPENAI_API_KEY` itself, except when a `base_url` is
    given: a local OpenAI-compatible server needs no key, so a placeholder is sent.
    """

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        api: str = "responses",
        timeout: float = 120.0,
        max_retries: int = 1,
    ) -> None:
        if api not in ("responses", "chat_completions"):
            raise ValueError(f"unknown openai_api {api!r}: use 'responses' or 'chat_completions'")
        if api_key is None and base_url is not None:
            api_key = LOCAL_PLACEHOLDER_KEY
        self.api: Literal["responses", "chat_completions"] = (
            "responses" if api == "responses" else "chat_completions"
        )
        # The client's defaults (600 s per read, 2 retries) let one hung model hold a draft for half
        # an hour; the job queue retries a failed draft anyway, so keep each call short.
        self.client = AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries
        )

    def get_model(self, model_name: str | None) -> Model:
        name = model_name or "gpt-5.1"
        if self.api == "responses":
            return OpenAIResponsesModel(model=name, openai_client=self.client)
        return OpenAIChatCompletionsModel(model=name, openai_client=self.client)

    async def aclose(self) -> None:
        await self.client.close()


def provider_from_settings(settings: Any) -> OpenAIClientProvider:
    """The one client every drafter, summariser and the manager use, from the settings: endpoint,
    key (a str or pydantic SecretStr), API flavour and per-call timeout; missing attributes take
    defaults `Settings` declares, so any settings-like object works (`bot.config.setting`)."""
    from bot.config import secret_value, setting

    return OpenAIClientProvider(
        base_url=setting(settings, "openai_base_url") or None,
        api_key=secret_value(setting(settings, "openai_api_key")),
        api=str(setting(settings, "openai_api") or "responses"),
        timeout=float(setting(settings, "model_timeout") or 120.0),
    )
