"""The tester: run the target repository's test command in a goal's worktree, time-limited.

The command comes from configuration (`ORCH_TEST_COMMAND`), never from a model or a brief, and is
split with shlex and run without a shell. The environment is built from scratch so the bot's own
secrets do not reach the target's tests, and byte-code writing is off so a test run leaves no
`__pycache__` behind to show up in the diff. On timeout the whole process group is killed.
"""

import contextlib
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents import FunctionTool

MAX_OUTPUT = 20_000
_PASSTHROUGH_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "SYSTEMROOT")


@dataclass(frozen=True)
class TestRun:
    __test__ = False  # not a pytest class, despite the name

    command: str
    exit_code: int | None
    output: str
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def summary(self) -> str:
        if self.timed_out:
            return f"Tests: `{self.command}` timed out"
        return f"Tests: `{self.command}` {'passed' if self.passed else 'failed'} (exit {self.exit_code})"

    def transcript(self) -> str:
        return f"$ {self.command}\n{self.output}\n[{self.summary()}]\n"


def run_test_command(worktree: Path, command: str, *, timeout: float) -> TestRun:
    argv = shlex.split(command)
    if not argv:
        raise ValueError("the test command is empty")
    env = {name: os.environ[name] for name in _PASSTHROUGH_ENV if name in os.environ}
    env.update(PYTHONDONTWRITEBYTECODE="1", CI="true", NO_COLOR="1")
    try:
        proc = subprocess.Popen(
            argv,
            cwd=worktree,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return TestRun(command, None, f"could not start the test command: {exc}")
    try:
        output, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        timed_out = True
    if len(output) > MAX_OUTPUT:
        output = "…(earlier output cut)\n" + output[-MAX_OUTPUT:]
    return TestRun(command, None if timed_out else proc.returncode, output, timed_out)


def tester_tool(deps: Any) -> "FunctionTool":
    """`run_tests`: the tool the tester agent calls; `await deps.run_tests(context)` does the work."""
    from agents import RunContextWrapper, function_tool

    @function_tool
    async def run_tests(ctx: RunContextWrapper[dict[str, Any]]) -> str:
        """Run the repository's configured test command in this task's worktree and return the
        exit status and the end of the output."""
        return str(await deps.run_tests(ctx.context))

    return run_tests
