"""OpenTelemetry traces, when configured: a span per Slack request and per outbox effect.

Off by default (`ORCH_OTEL=off`): `span()` is then a no-op context manager and nothing is
exported. `ORCH_OTEL=console` prints one JSON line per finished span on stdout (for a look while
developing); `ORCH_OTEL=otlp` sends spans in batches to an OTLP/HTTP collector, configured by the
standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_HEADERS` variables.

The provider is our own, not OpenTelemetry's process-global one, so configuring twice (tests build
many apps in one process) replaces it cleanly instead of being ignored with a warning.
Attribute values are redacted like log lines: a span must not carry what a log line may not.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any, Literal

from bot.redact import redact

Mode = Literal["off", "console", "otlp"]
MODES: tuple[str, ...] = ("off", "console", "otlp")
SERVICE_NAME = "codex-orchestrator"
MAX_ATTRIBUTE = 200

_lock = threading.Lock()
_provider: Any = None  # opentelemetry.sdk.trace.TracerProvider when on
_tracer: Any = None


def _attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool | int | float):
            out[key] = value
        else:
            out[key] = redact(str(value))[:MAX_ATTRIBUTE]
    return out


def configure_tracing(mode: str = "off", *, out: IO[str] | None = None, exporter: Any = None) -> None:
    """Switch tracing to `mode` for this process (replacing an earlier set-up).

    `exporter` (a `SpanExporter`) overrides the one `mode` picks; tests pass an in-memory one.
    """
    global _provider, _tracer
    if mode not in MODES:
        raise ValueError(f"ORCH_OTEL must be one of {', '.join(MODES)}, not {mode!r}")
    with _lock:
        old, _provider, _tracer = _provider, None, None
        if old is not None:
            old.shutdown()
        if mode == "off" and exporter is None:
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )

        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        elif mode == "console":
            console = ConsoleSpanExporter(
                out=out or sys.stdout, formatter=lambda span: span.to_json(indent=None) + "\n"
            )
            provider.add_span_processor(SimpleSpanProcessor(console))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _provider, _tracer = provider, provider.get_tracer("orch")


def enabled() -> bool:
    return _tracer is not None


@contextlib.contextmanager
def span(name: str, **attrs: Any) -> Iterator[Any]:
    """A span around the block (or nothing when tracing is off); yields it, or None.

    An exception leaving the block is recorded on the span and re-raised.
    """
    tracer = _tracer
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, attributes=_attributes(attrs)) as current:
        yield current


def set_attributes(current: Any, **attrs: Any) -> None:
    """Add attributes to a span from `span()` (a no-op for None, when tracing is off)."""
    if current is not None:
        current.set_attributes(_attributes(attrs))
