"""`orch demo --walkthrough`: one goal from `/orch start` to a committed change, scripted.

The real bot over real HTTP against the sandbox: riley starts a goal, oscar (not an approver) is
refused, avery asks for changes to the PRD through the feedback modal, and avery and blake take
turns approving every phase. A compact transcript is printed as it happens, then the target
repository's history. `make demo` runs this when nobody is at a terminal (or CI=true).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox import Message

if TYPE_CHECKING:
    from sandbox import Sandbox

BRIEF = (
    "Add a CSV export of monthly invoices to the billing service. "
    "Finance needs to download the file from the admin page and open it in a spreadsheet."
)
FEEDBACK = "Also say which columns the CSV has and that amounts use a dot as the decimal separator."
REQUESTER, OUTSIDER, CHANNEL = "U_REQ", "U_OUT", "C_DEV"
APPROVERS = ("U_APP1", "U_APP2")
NAMES = {"U_REQ": "riley", "U_APP1": "avery", "U_APP2": "blake", "U_OUT": "oscar", "UBOT": "orch"}
WAIT = 60.0
MAX_STEPS = 20


def headline(message: Message, width: int = 96) -> str:
    """One line for a message: its header block if it has one, else the first line of its text."""
    header = next((b for b in message.blocks if b.get("type") == "header"), None)
    text = str(header["text"]["text"]) if header else (message.text or message.content).strip()
    line = text.splitlines()[0] if text else ""
    line = line if len(line) <= width else line[: width - 1] + "…"
    buttons = "  " + " ".join(f"[{b}]" for b in message.buttons) if message.buttons else ""
    return line + buttons


def say(who: str, mark: str, text: str) -> None:
    print(f"  {NAMES.get(who, who):<6} {mark} {text}", flush=True)


class Transcript:
    """Prints each new message of the goal's thread once, in order."""

    def __init__(self, sb: Sandbox, thread_ts: str):
        self.sb, self.thread_ts = sb, thread_ts
        self.printed: set[str] = set()

    def catch_up(self) -> None:
        for message in self.sb.thread(CHANNEL, self.thread_ts):
            if message.ts not in self.printed:
                self.printed.add(message.ts)
                say(message.user or "?", "›" if message.ts == self.thread_ts else "↳", headline(message))


def _pending_or_done(sb: Sandbox, thread_ts: str) -> Message | str | None:
    """The newest artifact still waiting for a decision, or "done" once the goal finished."""
    if any("is done:" in message.text for message in sb.thread(CHANNEL, thread_ts)):
        return "done"
    return sb.find_message(CHANNEL, thread_ts=thread_ts, button="Approve")


def _next_step(sb: Sandbox, thread_ts: str) -> Callable[[], Message | str | None]:
    return lambda: _pending_or_done(sb, thread_ts)


def _decided(sb: Sandbox, ts: str) -> bool:
    return "Approve" not in sb.buttons(sb.message(CHANNEL, ts))


def drive(sb: Sandbox) -> str:
    """Walk one goal to done in `sb`; returns the goal card's ts."""
    say(REQUESTER, "›", f"/orch start {BRIEF[:70]}…")
    sb.slash(REQUESTER, CHANNEL, f"start {BRIEF}")
    card = sb.wait_for_message(CHANNEL, text_contains="G-0001", timeout=WAIT)
    transcript = Transcript(sb, card.ts)
    approvals = 0
    asked_changes = refused = False
    for _ in range(MAX_STEPS):
        found = sb.wait_for(_next_step(sb, card.ts), timeout=WAIT, what="an artifact or the end")
        transcript.catch_up()
        if not isinstance(found, Message):  # "done"
            return card.ts
        title = headline(found).split("  [")[0]
        if not refused:
            sb.click(OUTSIDER, found, "Approve")
            note = sb.wait_for_ephemeral(OUTSIDER, CHANNEL, timeout=WAIT)
            say(OUTSIDER, "✗", f"clicks Approve; only oscar sees: {note.text.splitlines()[0]}")
            refused = True
        if not asked_changes and title.startswith("PRD v1"):
            sb.click(APPROVERS[0], found, "Request changes")
            modal = sb.wait_for_view(APPROVERS[0], timeout=WAIT)
            sb.submit_view(APPROVERS[0], {modal.inputs[0]: FEEDBACK})
            say(
                APPROVERS[0],
                "✎",
                f"requests changes on {title} in the “{modal.title}” modal: “{FEEDBACK[:48]}…”",
            )
            asked_changes = True
        else:
            approver = APPROVERS[approvals % len(APPROVERS)]
            sb.click(approver, found, "Approve")
            say(approver, "✓", f"approves {title}")
            approvals += 1
        # The decision replaces the buttons in place (chat.update); wait for that before looking again.
        sb.wait_for(partial(_decided, sb, found.ts), timeout=WAIT, what="the decision to replace the buttons")
    raise RuntimeError(f"the goal did not finish in {MAX_STEPS} steps")


def walkthrough(*, workdir: Path) -> int:
    from bot.local.stack import fresh_workdir, start_local

    with start_local(workdir=fresh_workdir(workdir)) as stack:
        print(f"Sandbox workspace {stack.url} · bot {stack.bot.url} · offline drafter · SQLite\n", flush=True)
        drive(stack.sandbox)
        stack.bot.drain()
        log = subprocess.run(
            ["git", "-C", str(stack.repo), "log", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        print(f"\nTarget repository {stack.repo}: {len(log)} commits, newest first")
        for line in log[:12]:
            print(f"  {line}")
        docs = stack.repo / "docs"
        mirrors = sorted(p.name for p in docs.glob("*.md")) if docs.exists() else []
        print("Mirrors under docs/: " + (", ".join(mirrors) or "none"))
        print(f"State of record: {stack.repo / 'tasks' / 'index.json'}")
        print("\nFor the same in a browser, run `make demo` in a terminal and open the printed URL.")
    return 0


_scripted = walkthrough  # `run_demo`'s flag of the same name shadows it


def wants_walkthrough(flag: bool | None, *, interactive: bool, env: Mapping[str, str]) -> bool:
    """The scripted walkthrough when asked for, or when nobody could use the page (no terminal, CI)."""
    if flag is not None:
        return flag
    return not interactive or env.get("CI", "").lower() in ("1", "true", "yes")


def run_demo(*, walkthrough: bool | None = None, port: int = 3001, workdir: Path = Path(".orch/demo")) -> int:
    """`orch demo`: the web page for a person; the scripted walkthrough when nobody is at a terminal."""
    import os
    import sys

    if wants_walkthrough(walkthrough, interactive=sys.stdin.isatty(), env=os.environ):
        return _scripted(workdir=workdir)
    from bot.local.stack import serve_interactive

    return serve_interactive(port=port, workdir=workdir)
