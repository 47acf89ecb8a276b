"""Signed HTTP requests to the bot's request URL, exactly as Slack sends them.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and the app's signing secret, and puts
the hex digest in `X-Slack-Signature: v0=…` next to `X-Slack-Request-Timestamp`. The timestamp
comes from the sandbox clock, so a test can make it stale. `Tamper` breaks a delivery on
purpose, for the bot's own tests of its request verification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.state import Clock

SIGNATURE = "X-Slack-Signature"
TIMESTAMP = "X-Slack-Request-Timestamp"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass(frozen=True)
class Tamper:
    """Ways to break a delivery: another secret, a chosen timestamp, a changed body, no headers."""

    secret: str | None = None
    timestamp: int | None = None
    alter_body: bool = False
    drop_headers: tuple[str, ...] = ()


@dataclass
class Delivery:
    """One request to the bot and its answer; `outcome` says what Slack made of the answer."""

    kind: str
    status: int
    body: str
    headers: dict[str, str] = field(repr=False)
    elapsed: float
    request_body: bytes = field(repr=False)
    request_headers: dict[str, str] = field(repr=False)
    trigger_id: str | None = None
    response_url: str | None = None
    event_id: str | None = None
    outcome: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None


class DeliveryError(RuntimeError):
    """The bot could not be reached at all (not listening, wrong URL, timed out)."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Deliverer:
    def __init__(self, signing_secret: str, clock: Clock, timeout: float = 10.0):
        self.signing_secret = signing_secret
        self.clock = clock
        self.request_url: str | None = None
        self._client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        kind: str,
        body: bytes,
        content_type: str,
        *,
        tamper: Tamper | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        if not self.request_url:
            raise DeliveryError("no request URL: set sandbox.request_url to the bot's /slack/events URL")
        tamper = tamper or Tamper()
        timestamp = tamper.timestamp if tamper.timestamp is not None else int(self.clock())
        sent = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            TIMESTAMP: str(timestamp),
            SIGNATURE: sign(tamper.secret or self.signing_secret, timestamp, body),
            **(headers or {}),
        }
        for name in tamper.drop_headers:
            sent = {k: v for k, v in sent.items() if k.lower() != name.lower()}
        if tamper.alter_body:
            body = body + b" "  # Signed before the change, so the signature no longer matches.
        started = time.perf_counter()
        try:
            response = self._client.post(self.request_url, content=body, headers=sent)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"could not deliver {kind} to {self.request_url}: {exc!r}") from exc
        return Delivery(
            kind=kind,
            status=response.status_code,
            body=response.text,
            headers=dict(response.headers),
            elapsed=time.perf_counter() - started,
            request_body=body,
            request_headers=sent,
        )

    def form(self, kind: str, fields: dict[str, Any], **options: Any) -> Delivery:
        body = urllib.parse.urlencode(fields).encode()
        return self.send(kind, body, "application/x-www-form-urlencoded", **options)

    def interaction(self, kind: str, payload: dict[str, Any], **options: Any) -> Delivery:
        """Interactivity: Slack form-encodes one field, `payload`, holding the JSON."""
        return self.form(kind, {"payload": json.dumps(payload)}, **options)

    def event(self, envelope: dict[str, Any], **options: Any) -> Delivery:
        kind = "event:" + str(envelope.get("event", {}).get("type", "?"))
        delivery = self.send(kind, json.dumps(envelope).encode(), "application/json", **options)
        delivery.event_id = envelope.get("event_id")
        return delivery
