"""The deployment's identity: one generated id per database, made the first time it is asked for.

Run records on disk carry it (`deployment_id` in run.json), so two deployments whose records end
up in the same folder (one working directory, one target repository) each count only their own.
The id is random, never derived from configuration: two databases never share it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Column
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from storage.audit import UTCDateTime
from storage.db import read_session

KEY = "deployment"


class DeploymentIdentity(SQLModel, table=True):
    __tablename__ = "deployment_identity"

    key: str = Field(primary_key=True)  # always KEY: the table holds one row
    deployment_id: str
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def new_deployment_id() -> str:
    return f"dep-{secrets.token_hex(8)}"


def known_deployment_id(engine: Engine) -> str | None:
    """The id if it was made already, read without taking SQLite's write lock (None otherwise)."""
    with read_session(engine) as session:
        row = session.get(DeploymentIdentity, KEY)
        return row.deployment_id if row is not None else None


def deployment_id(engine: Engine) -> str:
    """This database's deployment id, created on first use (safe when two processes race)."""
    with Session(engine) as session:
        row = session.get(DeploymentIdentity, KEY)
        if row is not None:
            return row.deployment_id
        session.add(
            DeploymentIdentity(key=KEY, deployment_id=new_deployment_id(), created_at=datetime.now(UTC))
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process made it first: theirs is the id
    with Session(engine) as session:
        row = session.get(DeploymentIdentity, KEY)
        assert row is not None
        return row.deployment_id
