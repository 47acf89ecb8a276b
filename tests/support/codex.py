"""The real `codex` CLI as the builder in an end-to-end test, against the scripted Responses server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.codex.binary import find_codex
from sandbox import Message
from sandbox.models import ResponsesServer
from tests.conftest import Live, start_live


def codex_or_skip() -> Path:
    found = find_codex()
    if found is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    return found


def start_codex_live(
    tmp_path: Path, repo: Path, model: ResponsesServer, codex_bin: Path, *, timeout: int, **overrides: Any
) -> Live:
    """The live bot building with Codex, which talks to `model`; run records under tmp_path/runs."""
    return start_live(
        tmp_path,
        repo,
        builder="codex",
        codex_provider_url=model.base_url,
        codex_bin=str(codex_bin),
        codex_timeout=timeout,
        runs_dir=tmp_path / "runs",
        **overrides,
    )


def approve_documents_until(
    live: Live, card_ts: str, text: str, *, deny: str | None = None, never: str | None = None
) -> Message:
    """Approve each document in the goal's thread until a message containing `text` is there; return it.

    A message containing `deny` is denied instead; one containing `never` offered for a decision
    fails the test."""
    for _ in range(20):
        found = live.sb.wait_for(
            lambda: (
                live.sb.find_message("C_DEV", thread_ts=card_ts, text_contains=text)
                or live.sb.find_message("C_DEV", thread_ts=card_ts, button="Approve")
            ),
            timeout=60,
            what=f"an artifact to approve or {text!r}",
        )
        if text in found.text:
            return found
        assert never is None or never not in found.text, f"{never!r} was offered for a decision: {found.text}"
        label = "Deny" if deny is not None and deny in found.text else "Approve"
        live.sb.click("U_APP1", found, label)
        live.sb.wait_for(
            lambda m=found, b=label: b not in live.sb.buttons(live.sb.message("C_DEV", m.ts)),
            timeout=30,
            what="the decision to replace the buttons",
        )
    raise AssertionError(f"no {text!r} in the thread")
