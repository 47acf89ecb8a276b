"""The audit log's tests run on a database that holds just the audit log and its guards, once on
SQLite and once on PostgreSQL (skipped without ORCH_TEST_POSTGRES_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.support.databases import DATABASES, audit_only, migrated_database


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_database(request, tmp_path, request.param, prepare=audit_only) as (eng, _url):
        yield eng
