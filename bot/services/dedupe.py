"""Inbound idempotency: a delivery key (event_id, view submission) is processed once."""

from __future__ import annotations

from datetime import datetime

from storage.db import transaction
from storage.repositories import Deliveries
from storage.sessions import Engine


def first_time(engine: Engine, key: str, now: datetime) -> bool:
    with transaction(engine) as session:
        return Deliveries(session).claim(key, now)
