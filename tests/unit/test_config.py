"""Configuration: environment and orch.toml, defaults, and clear refusals of missing or placeholder secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert (s.host, s.port, s.database_url, s.timezone) == (
        "127.0.0.1",
        3000,
        "sqlite:///.orch/orch.db",
        "UTC",
    )
    assert s.agent_backend == "offline" and s.approvers == [] and s.repo == tmp_path
    assert s.slack_api_url == "https://slack.com/api/" and not s.socket_mode


def test_environment_overrides_the_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "orch.toml"
    toml.write_text('port = 4000\ntimezone = "Europe/Berlin"\napprovers = ["U1"]\n')
    monkeypatch.setenv("ORCH_CONFIG", str(toml))
    monkeypatch.setenv("ORCH_PORT", "5000")
    monkeypatch.setenv("ORCH_APPROVERS", "U2, U3")
    s = load_settings()
    assert s.port == 5000 and s.timezone == "Europe/Berlin" and s.approvers == ["U2", "U3"]


def test_openai_key_switches_the_default_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000000000")
    assert load_settings().agent_backend == "openai"
    monkeypatch.setenv("ORCH_AGENT_BACKEND", "offline")
    assert load_settings().agent_backend == "offline"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2-abc"}, "SLACK_SIGNING_SECRET is not set"),
        (
            {"SLACK_BOT_TOKEN": "changeme", "SLACK_SIGNING_SECRET": "abc"},
            "SLACK_BOT_TOKEN holds a placeholder",
        ),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "abc"}, "must be a bot token"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "nope"}, "must be an app-level token"),
    ],
)
def test_serve_refuses_missing_or_placeholder_secrets(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings().require_slack()


def test_socket_mode_needs_no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-abc")
    settings = load_settings()
    settings.require_slack()
    assert settings.socket_mode


def test_unknown_time_zone_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCH_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_settings()


def test_describe_never_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-secretsecret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-value")
    described = str(load_settings().describe())
    assert "secretsecret" not in described and "signing-secret-value" not in described
    assert "set (hidden)" in described


def test_a_github_app_needs_its_id_and_a_pem_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(name, raising=False)
    pem = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEabc\\n-----END RSA PRIVATE KEY-----"
    url = "https://github.com/acme/billing.git"
    s = load_settings(repo=url, github_app_id=7, github_app_private_key=pem)
    assert s.delivery == "pull_request" and s.github_app_private_key is not None
    assert "\nMIIEabc\n" in s.github_app_private_key.get_secret_value()  # `\n` escapes of one-line values
    with pytest.raises(ConfigError, match="both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"):
        load_settings(github_app_id=7)
    with pytest.raises(ConfigError, match="not a PEM private key"):
        load_settings(github_app_id=7, github_app_private_key="not a key")
    with pytest.raises(ConfigError, match="GITHUB_APP_PRIVATE_KEY_PATH: cannot read"):
        load_settings(github_app_id=7, github_app_private_key_path=tmp_path / "missing.pem")
    (tmp_path / "app.pem").write_text(pem.replace("\\n", "\n"))
    assert load_settings(github_app_id=7, github_app_private_key_path=tmp_path / "app.pem").github_auth
