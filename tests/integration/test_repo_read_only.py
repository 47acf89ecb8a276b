"""A repository the bot may not write to for a while: the scaffold's commit waits, the thread is told
once, and the commit lands (once, with every effect's trailer once) when the repository is writable."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.app import build_container
from bot.services.unit import Actor
from storage.models import Effect
from tests.conftest import make_settings

# More attempts than a failing effect used to get before it was given up for good.
MAX_ATTEMPTS = 6


def _immutable(path: Path, on: bool) -> bool:
    """`chattr +i`: not even root may create files in the folder (plain permissions do not stop root)."""
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0


@pytest.fixture
def read_only(target_repo: Path) -> Iterator[Callable]:
    made: list[Path] = []

    def set_(on: bool) -> None:
        if not _immutable(target_repo, on):
            pytest.skip("cannot make a folder read-only here (chattr is missing or not allowed)")
        if on:
            made.append(target_repo)

    yield set_
    for path in made:
        _immutable(path, False)


def test_the_scaffold_commit_waits_for_a_read_only_repository_and_lands_once_writable(
    tmp_path: Path, target_repo: Path, read_only: Callable
) -> None:
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    c = build_container(make_settings(tmp_path, target_repo), clock=lambda: now[0])

    def drain() -> None:
        asyncio.run(c.dispatcher.drain(timeout=60))

    goal = c.goals.start_goal(brief="Add a CSV export of monthly invoices.", actor=Actor("U_REQ"))
    drain()
    read_only(True)
    c.goals.decide(goal_id=goal.id, phase=None, sha256=None, decision="approve", actor=Actor("U_APP1"))
    for _ in range(MAX_ATTEMPTS * 2):  # longer than any failing effect's attempts last
        drain()
        now[0] += timedelta(minutes=1)
    with Session(c.engine) as session:
        scaffold = session.exec(select(Effect).where(Effect.kind == "repo.apply_scaffold")).one()
        notes = session.exec(
            select(Effect).where(col(Effect.key).startswith(f"note:{goal.id}:repo:read-only"))
        ).all()
    assert scaffold.status == "pending" and scaffold.attempts <= 1
    assert "cannot write to the repository" in (scaffold.last_error or "")
    assert len(notes) == 1 and "write access" in notes[0].payload["text"]

    read_only(False)
    drain()
    now[0] += timedelta(minutes=1)
    drain()
    log = subprocess.run(["git", "-C", str(target_repo), "log", "--format=%(trailers:key=Orch-Effect,valueonly)"],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert f"scaffold:{goal.id}:1" in log
    assert len(log) == len(set(log))  # no effect is carried by two commits, nor twice by one
    assert (target_repo / "docs" / "README.md").is_file()
    with Session(c.engine) as session:
        assert session.exec(select(Effect).where(Effect.status == "failed")).all() == []
