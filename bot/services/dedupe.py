"""Inbound idempotency: a delivery key (event_id, view submission) is processed once."""

from __future__ import annotations

from datetime import datetime

from storage.db import transaction
from storage.models import ProcessedDelivery
from storage.sessions import Engine, IntegrityError


def first_time(engine: Engine, key: str, now: datetime) -> bool:
    try:
        with transaction(engine) as session:
            if session.get(ProcessedDelivery, key) is not None:
                return False
            session.add(ProcessedDelivery(key=key, at=now))
    except IntegrityError:
        return False
    return True
