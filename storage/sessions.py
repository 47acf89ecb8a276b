"""The database types the layers above name in signatures: a session (one unit of work), an engine
and the error a unique key raises. Services and jobs import them from here, so only `storage/`
imports the database libraries and builds queries."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

__all__ = ["Engine", "IntegrityError", "Session"]
