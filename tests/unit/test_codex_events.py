"""Codex's `exec --json` events folded into progress (events as Codex 0.169 printed them here)."""

from __future__ import annotations

from pathlib import Path

from bot.codex.events import CodexProgress, display_command, parse_line
from bot.codex.runner import CodexConfig, codex_command

RECORDED = [
    '{"type":"thread.started","thread_id":"01a2"}',
    '{"type":"turn.started"}',
    '{"type":"item.started","item":{"id":"item_0","type":"file_change","changes":[{"path":"/w/hello.py","kind":"add"}],"status":"in_progress"}}',
    '{"type":"item.completed","item":{"id":"item_0","type":"file_change","changes":[{"path":"/w/hello.py","kind":"add"}],"status":"completed"}}',
    '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc \'python3 hello.py > out.txt\'","aggregated_output":"ran\\n","exit_code":0,"status":"completed"}}',
    '{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"All done: added hello.py"}}',
    '{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":0,"output_tokens":30}}',
]


def test_a_recorded_run_folds_into_files_commands_message_and_usage() -> None:
    progress = CodexProgress(cwd=Path("/w"))
    updates = [u for line in RECORDED if (e := parse_line(line)) and (u := progress.apply(e))]
    assert updates == [
        "Codex started",
        "Codex changed hello.py",
        "Codex ran `python3 hello.py > out.txt` (exit 0)",
        "Codex finished",
    ]
    assert progress.files == ["hello.py"] and progress.final_message == "All done: added hello.py"
    assert progress.usage == {"input_tokens": 300, "cached_input_tokens": 0, "output_tokens": 30}
    assert progress.status_line() == (
        "Codex done · 1 file(s) changed: hello.py · 1 command(s) run, last "
        "`python3 hello.py > out.txt` (exit 0)"
    )


def test_a_failed_turn_is_an_error_but_a_transient_error_event_is_not() -> None:
    progress = CodexProgress()
    progress.apply({"type": "error", "message": "Reconnecting... 1/5"})
    assert progress.error is None and progress.warnings == ["Reconnecting... 1/5"]
    assert progress.apply({"type": "turn.failed", "error": {"message": "stream disconnected"}}) == (
        "Codex failed: stream disconnected"
    )
    assert progress.status_line().startswith("Codex failed")


def test_lines_that_are_not_events_are_skipped() -> None:
    assert parse_line("Reading additional input from stdin...") is None
    assert (
        parse_line('{"no_type": 1}') is None and parse_line("{broken") is None and parse_line("[1]") is None
    )
    assert display_command("/bin/bash -lc 'pytest -q'") == "pytest -q"
    assert display_command("ls   -la") == "ls -la"


def test_the_sandbox_follows_the_goal_mode_and_the_prompt_never_becomes_an_option() -> None:
    config = CodexConfig(binary=Path("/bin/codex"), model="gpt-5.5", provider_url="http://127.0.0.1:9/v1")
    for mode, flag in (
        ("read-only", "read-only"),
        ("workspace-write", "workspace-write"),
        ("full-access", "danger-full-access"),
    ):
        argv = codex_command(config, worktree=Path("/w"), mode=mode)
        assert argv[argv.index("-s") + 1] == flag and argv[-1] == "-"
        assert (
            'model_providers.orch={name="orch",base_url="http://127.0.0.1:9/v1",wire_api="responses"}' in argv
        )
