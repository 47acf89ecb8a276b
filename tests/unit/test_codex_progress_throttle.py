"""The build's one status message is updated at most once per interval (the clock is injected),
always with the last word, and says the step, the files, the commands and the tests."""

from __future__ import annotations

import asyncio

from bot.codex.events import CodexProgress
from bot.codex.progress import thread_progress
from storage.models import Effect


def test_updates_are_throttled_to_one_per_interval_but_the_final_one_always_shows() -> None:
    shown: list[str] = []
    now = [100.0]

    async def handler(effect: Effect) -> None:
        shown.append(str(effect.payload["text"]))

    async def main() -> None:
        report = thread_progress(
            handler, "G-0001", asyncio.get_running_loop(), min_interval=2.0, clock=lambda: now[0]
        )
        assert report is not None

        def drive() -> None:
            report("Codex working (step 1)")
            now[0] = 101.0
            report("Codex working (step 2)")  # within 2 s of the last update: dropped
            now[0] = 102.5
            report("Codex working (step 3)")
            now[0] = 102.6
            report("Codex done · 1 file(s) changed: a.py")  # the last word is never dropped

        await asyncio.to_thread(drive)
        for _ in range(100):  # bounded: the scheduled updates run on this loop
            if len(shown) == 3:
                break
            await asyncio.sleep(0)

    asyncio.run(main())
    assert shown == ["Codex working (step 1)", "Codex working (step 3)", "Codex done · 1 file(s) changed: a.py"]


def test_the_status_line_says_the_step_files_commands_and_tests() -> None:
    progress = CodexProgress()
    progress.apply(
        {"type": "item.completed", "item": {"type": "file_change", "changes": [{"path": "a.py"}], "status": "completed"}}
    )
    progress.apply(
        {"type": "item.completed", "item": {"type": "command_execution", "command": "pytest -q", "exit_code": 1}}
    )
    assert progress.status_line() == (
        "Codex working (step 3) · 1 file(s) changed: a.py · 1 command(s) run, last `pytest -q` (exit 1)"
        " · tests `pytest -q` failed (exit 1)"
    )
    progress.apply(
        {"type": "item.completed", "item": {"type": "command_execution", "command": "ls", "exit_code": 0}}
    )
    assert "tests `pytest -q` failed (exit 1)" in progress.status_line()
    progress.apply(
        {"type": "item.completed", "item": {"type": "command_execution", "command": "npm test", "exit_code": 0}}
    )
    assert progress.status_line().endswith("tests `npm test` passed")
