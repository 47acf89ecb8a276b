"""The database types the layers above name in signatures: a session (one unit of work), an engine,
the error a unique key raises and the error of a database that cannot be reached or refused. Services and jobs import them from here, so only `storage/`
imports the database libraries and builds queries."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError as DatabaseError
from sqlmodel import Session

__all__ = ["DatabaseError", "Engine", "IntegrityError", "Session"]
