"""`python -m sandbox` serves the Web API from its own process, as `orch sandbox` will."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys

import httpx
import pytest


def first_line(proc: subprocess.Popen[str], timeout: float = 15.0) -> str:
    """The process's first stdout line, or a failure after `timeout` (no sleeping, no hang)."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"python -m sandbox printed nothing in {timeout}s")
    return proc.stdout.readline()


@pytest.mark.slow
def test_python_m_sandbox_serves_the_api_on_the_port_it_announces() -> None:
    env = {**os.environ, "SLACK_SIGNING_SECRET": "cli-secret", "SLACK_BOT_TOKEN": "xoxb-cli"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--request-url", "http://127.0.0.1:9/slack/events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = first_line(proc)
        assert line.startswith("sandbox Web API: http://127.0.0.1:"), line
        api_url = line.split(": ", 1)[1].strip()
        answer = httpx.post(api_url + "auth.test", headers={"Authorization": "Bearer xoxb-cli"}).json()
        assert answer["user_id"] == "UBOT"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught, as a well-behaved server does.
    assert proc.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr
