"""Collect everything the bot wrote somewhere, to search it for secrets it must not have kept.

Each function returns (where, text) pairs so a failure names the place that leaked.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

from sandbox import BOT_USER_ID, Sandbox


def sandbox_places(sb: Sandbox) -> list[tuple[str, str]]:
    """What the bot put into the sandbox: its messages, ephemerals, files, views, Web API calls, answers.

    People's own messages are left out: a person may paste a secret into a thread; the bot must not repeat it.
    """
    places: list[tuple[str, str]] = []
    with sb.state.lock:
        for channel in sb.state.channels.values():
            for message in channel.messages:
                if message.get("user") == BOT_USER_ID or message.get("bot_id"):
                    places.append((f"message {channel.id}/{message['ts']}", json.dumps(message, default=str)))
        for eph in sb.state.ephemerals:
            places.append((f"ephemeral to {eph.user}", json.dumps(eph.message, default=str)))
        for stored in sb.state.files.values():
            data = (stored.data or b"").decode("utf-8", "replace")
            places.append((f"file {stored.name}", f"{stored.name}\n{stored.title}\n{data}"))
        for user, stack in sb.state.modals.items():
            places.append((f"modals of {user}", json.dumps(stack, default=str)))
        for user, home in sb.state.homes.items():
            places.append((f"home of {user}", json.dumps(home, default=str)))
        for call in sb.state.calls:
            places.append((f"Web API {call.method}", json.dumps(call.args, default=str)))
        for delivery in sb.deliveries:
            places.append((f"answer to {delivery.kind}", delivery.body))
    return places


def repo_places(repo: Path) -> list[tuple[str, str]]:
    """Every file under the repo (worktrees included, .git excluded) and the whole history with patches."""
    places = []
    for path in sorted(repo.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(repo).parts[:1] and path.name != ".git":
            places.append((f"repo file {path.relative_to(repo)}", path.read_text("utf-8", "replace")))
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "-p", "--all", "--format=%H %s%n%b"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    places.append(("git log -p --all", log))
    return places


def file_places(root: Path, label: str) -> list[tuple[str, str]]:
    if not root.exists():
        return []
    return [
        (f"{label} {p.relative_to(root)}", p.read_bytes().decode("utf-8", "replace"))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]


def database_places(db: Path) -> list[tuple[str, str]]:
    """The SQLite file and its WAL, byte for byte (freed pages and old row versions included)."""
    return [
        (f"database {p.name}", p.read_bytes().decode("latin-1"))
        for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
        if p.exists()
    ]


def leaks(secrets: Iterable[str], places: Iterable[tuple[str, str]]) -> list[str]:
    """`where: secret…` for every secret found in a place (the secret shortened in the report)."""
    found = []
    wanted = list(secrets)
    for where, text in places:
        for secret in wanted:
            if secret in text:
                found.append(f"{where}: {secret[:12]}…")
    return found
