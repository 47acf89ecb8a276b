"""`orch demo`: one goal from `/orch start` to committed mirrors, in the local sandbox.

It uses the real bot over real HTTP against the sandbox, clicks the buttons as the seeded people
would, and prints the goal's thread and the target repository's history.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from pathlib import Path

BRIEF = (
    "Add a CSV export of monthly invoices to the billing service. "
    "Finance needs to download the file from the admin page and open it in a spreadsheet."
)
REQUESTER, APPROVER, CHANNEL = "U_REQ", "U_APP1", "C_DEV"


def walkthrough(*, keep_running: bool = False, workdir: Path | None = None) -> int:
    from bot.local import SANDBOX_BOT_TOKEN, BotThread, sandbox_settings
    from sandbox import Sandbox

    workdir = workdir or Path(tempfile.mkdtemp(prefix="orch-demo-"))
    secret = secrets.token_hex(16)
    sb = Sandbox(signing_secret=secret, bot_token=SANDBOX_BOT_TOKEN)
    sb.start()
    settings = sandbox_settings(api_url=sb.api_url, bot_port=0, workdir=workdir, signing_secret=secret)
    bot = BotThread(settings).start()
    sb.request_url = f"{bot.url}/slack/events"
    try:
        print(f"Sandbox Slack workspace at {sb.base_url}; bot at {bot.url}\n")
        print(f"riley types: /orch start {BRIEF}\n")
        sb.slash(REQUESTER, CHANNEL, f"start {BRIEF}")
        card = sb.wait_for_message(CHANNEL, text_contains="G-0001")
        thread_ts = card.ts
        for _ in range(20):
            message = sb.wait_for(
                lambda: _pending_or_done(sb, thread_ts), timeout=60.0
            )
            if message == "done":
                break
            sb.click(APPROVER, message, "Approve")
            sb.wait_for(lambda m=message: "Approve" not in sb.buttons(sb.message(CHANNEL, m.ts)), timeout=60.0)
        print(sb.transcript(CHANNEL, thread_ts))
        repo = Path(settings.repo)
        print("\nTarget repository history:")
        print(subprocess.run(["git", "-C", str(repo), "log", "--format=%h %s", "-n", "30"], capture_output=True,
                             text=True, check=True).stdout)
        mirrors = sorted(p.name for p in (repo / "docs").glob("*.md")) if (repo / "docs").exists() else []
        print("Mirrors committed under docs/: " + ", ".join(mirrors))
        print(f"State of record: {repo / 'tasks' / 'index.json'}")
        if keep_running:
            print(f"\nStill running: open {sb.base_url} — Ctrl-C to stop.")
            import threading

            threading.Event().wait()
        return 0
    finally:
        bot.stop()
        sb.stop()


def _pending_or_done(sb: object, thread_ts: str) -> object:
    """The newest message in the thread with an Approve button, or "done" once the goal finished."""
    thread = sb.thread(CHANNEL, thread_ts)  # type: ignore[attr-defined]
    if any("is done:" in message.text for message in thread):
        return "done"
    button = sb.find_message(CHANNEL, thread_ts=thread_ts, button="Approve")  # type: ignore[attr-defined]
    return button
