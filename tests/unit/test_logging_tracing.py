"""OpenTelemetry traces: off unless ORCH_OTEL says console or otlp; spans carry no secrets."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.observability import tracing
from tests.conftest import make_settings

OPENAI_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6l"


@pytest.fixture(autouse=True)
def tracing_off_afterwards() -> Iterator[None]:
    yield
    tracing.configure_tracing("off")


def test_tracing_is_off_by_default_and_a_span_is_then_a_no_op(tmp_path: Path) -> None:
    from bot.app import build_container

    settings = make_settings(tmp_path, tmp_path)
    assert settings.otel == "off"
    tracing.configure_tracing("console", out=io.StringIO())
    build_container(settings)  # the app applies its setting, switching the earlier set-up off
    assert not tracing.enabled()
    with tracing.span("slack.request", user="U1") as current:
        assert current is None
        tracing.set_attributes(current, status=200)  # harmless when off


def test_console_mode_prints_one_json_line_per_span_with_redacted_attributes() -> None:
    out = io.StringIO()
    tracing.configure_tracing("console", out=out)
    with tracing.span("slack.request", **{"slack.kind": "command"}) as outer:
        tracing.set_attributes(outer, **{"http.response.status_code": 200})
        with tracing.span("effect draft", note=f"key {OPENAI_KEY}", attempt=2):
            pass
    spans = [json.loads(line) for line in out.getvalue().splitlines()]
    inner, outer_span = spans  # children end first
    assert outer_span["name"] == "slack.request"
    assert outer_span["attributes"] == {"slack.kind": "command", "http.response.status_code": 200}
    assert inner["parent_id"] == outer_span["context"]["span_id"]
    assert inner["attributes"]["attempt"] == 2
    assert OPENAI_KEY not in out.getvalue() and "[REDACTED:" in inner["attributes"]["note"]
    assert outer_span["resource"]["attributes"]["service.name"] == tracing.SERVICE_NAME


def test_an_exception_leaving_a_span_is_recorded_and_re_raised() -> None:
    out = io.StringIO()
    tracing.configure_tracing("console", out=out)
    with pytest.raises(LookupError), tracing.span("effect repo.merge"):
        raise LookupError("artifact 7 is gone")
    [span] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert span["status"]["status_code"] == "ERROR"
    assert span["events"][0]["name"] == "exception"


def test_otlp_mode_sets_up_a_batching_exporter_without_sending_anything_yet() -> None:
    tracing.configure_tracing("otlp")
    assert tracing.enabled()
    tracing.configure_tracing("off")  # shuts the exporter down; nothing was recorded, nothing is sent
    assert not tracing.enabled()


def test_an_unknown_mode_is_refused_in_configuration_and_in_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_OTEL", "jaeger")
    with pytest.raises(ConfigError, match="ORCH_OTEL"):
        make_settings(tmp_path, tmp_path)
    with pytest.raises(ValueError, match="ORCH_OTEL must be one of"):
        tracing.configure_tracing("jaeger")
    monkeypatch.setenv("ORCH_OTEL", "console")
    assert make_settings(tmp_path, tmp_path).otel == "console"
