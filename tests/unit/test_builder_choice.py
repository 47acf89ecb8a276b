"""Codex is the builder whenever its CLI is installed and a model provider is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.codex.runner import CodexConfig
from bot.config import load_settings


@pytest.fixture
def fake_codex(tmp_path: Path) -> Path:
    binary = tmp_path / "codex"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    return binary


def test_an_installed_codex_with_a_provider_url_is_the_builder(
    fake_codex: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CODEX_BIN", str(fake_codex))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert load_settings().builder == "codex"


def test_an_openai_key_alone_is_a_provider(fake_codex: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCH_CODEX_BIN", str(fake_codex))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000000000")
    settings = load_settings()
    assert settings.builder == "codex" and settings.codex_provider() == "https://api.openai.com/v1"


def test_without_a_provider_or_without_the_cli_the_builder_is_offline(
    fake_codex: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CODEX_BIN", str(fake_codex))
    assert load_settings().builder == "offline"  # no provider
    monkeypatch.setenv("ORCH_CODEX_BIN", str(tmp_path / "missing" / "codex"))
    monkeypatch.setenv("ORCH_CODEX_PROVIDER_URL", "http://127.0.0.1:9/v1")
    assert load_settings().builder == "offline"  # no CLI


def test_the_explicit_setting_wins(fake_codex: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCH_CODEX_BIN", str(fake_codex))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ORCH_BUILDER", "offline")
    assert load_settings().builder == "offline"


def test_codex_uses_openai_base_url_unless_its_own_url_is_set(
    fake_codex: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CODEX_BIN", str(fake_codex))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert CodexConfig.from_settings(load_settings()).provider_url == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("ORCH_CODEX_PROVIDER_URL", "http://127.0.0.1:8/v1")
    settings = load_settings()
    assert CodexConfig.from_settings(settings).provider_url == "http://127.0.0.1:8/v1"
    assert settings.codex_provider() == "http://127.0.0.1:8/v1"
