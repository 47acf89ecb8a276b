"""A running build's events stream into a live log in the thread (Slack's streaming messages), or,
where the workspace refuses them, into the status message edited in place.

The real `codex app-server` and the sandbox's `chat.startStream` / `appendStream` / `stopStream`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.models import ResponsesServer, exec_command, message
from tests.support.codex import approve_documents_until, codex_or_skip, start_codex_live

SCRIPT = [[exec_command("echo hi > hi.txt")], [message("Wrote hi.txt.")]]

pytestmark = pytest.mark.slow


@pytest.fixture
def codex_bin() -> Path:
    return codex_or_skip()


@pytest.mark.parametrize("supported", [True, False])
def test_the_build_streams_a_live_log_or_falls_back_to_the_status_message(
    tmp_path: Path, target_repo: Path, codex_bin: Path, supported: bool
) -> None:
    with ResponsesServer(SCRIPT) as model:
        live = start_codex_live(tmp_path, target_repo, model, codex_bin, timeout=120, slack_streaming=True)
        live.sb.state.streaming = supported
        try:
            live.sb.slash("U_REQ", "C_DEV", "start Write the greeting file.")
            card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
            approve_documents_until(live, card.ts, "Live log of G-0001" if supported else "Codex working")
            live.sb.wait_for(
                lambda: live.sb.find_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains=" diff "),
                timeout=60,
                what="the diff",
            )
            if supported:
                log = live.sb.wait_for(
                    lambda: next(
                        (
                            m
                            for m in live.sb.thread("C_DEV", card.ts)
                            if "Live log of G-0001" in m.text and not m.raw.get("streaming")
                        ),
                        None,
                    ),
                    timeout=30,
                    what="the finished live log",
                )
                assert "• Codex ran `echo hi > hi.txt` (exit 0)" in log.text
                assert "• Codex finished" in log.text
                assert next(c.method for c in live.sb.calls() if "Stream" in c.method) == "chat.startStream"
                assert live.sb.calls("chat.stopStream")
            else:
                live.sb.wait_for(
                    lambda: any("Codex done" in m.text for m in live.sb.thread("C_DEV", card.ts)),
                    timeout=30,
                    what="the status message's last word",
                )
                assert not any("Live log" in m.text for m in live.sb.thread("C_DEV", card.ts))
        finally:
            live.bot.stop()
            live.sb.stop()
