"""Webhooks as GitHub sends them: JSON bodies signed with `X-Hub-Signature-256`, one at a time and in
order, from a thread of their own (so an API call never waits for the receiver)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass
class Hooks:
    targets: list[tuple[str, str]] = field(default_factory=list)  # (url, secret)
    sent: list[dict[str, Any]] = field(default_factory=list)  # event, status code (tests read it)
    _queue: queue.Queue[tuple[str, bytes] | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None

    def add(self, url: str, secret: str) -> None:
        self.targets.append((url, secret))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="github-hooks", daemon=True)
            self._thread.start()

    def send(self, event: str, payload: dict[str, Any]) -> None:
        if self.targets:
            self._queue.put((event, json.dumps(payload).encode("utf-8")))

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while (item := self._queue.get()) is not None:
                event, body = item
                for url, secret in list(self.targets):
                    headers = {
                        "Content-Type": "application/json",
                        "X-GitHub-Event": event,
                        "X-GitHub-Delivery": str(uuid.uuid4()),
                        "X-Hub-Signature-256": sign(secret, body),
                        "User-Agent": "GitHub-Hookshot/stand-in",
                    }
                    try:
                        status = client.post(url, content=body, headers=headers).status_code
                    except httpx.HTTPError as exc:
                        log.warning("webhook %s to %s failed: %s", event, url, exc)
                        status = 0
                    self.sent.append({"event": event, "status": status})
