"""Child processes of a run: start, wait until they answer, measure their memory, stop them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

ROOT = Path(__file__).resolve().parents[1]  # children run from the project root, so `-m bench.*` resolves


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(*pids: int) -> float:
    """CPU time used so far by processes and their waited-for children (git, …), in seconds."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    name: str
    argv: Sequence[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[str] | None = None
    _log_file: TextIO | None = field(default=None, repr=False)

    def start(self, *, stdout_pipe: bool = False) -> Proc:
        self._log_file = self.log.open("w")
        self.popen = subprocess.Popen(
            list(self.argv),
            env=self.env,
            text=True,
            stdout=subprocess.PIPE if stdout_pipe else self._log_file,
            stderr=self._log_file,
            start_new_session=True,
            cwd=ROOT,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def first_line(self, timeout: float = 30.0) -> str:
        """The first stdout line (a child announcing its URL); bounded by `timeout`."""
        assert self.popen is not None and self.popen.stdout is not None
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self.popen.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise RuntimeError(f"{self.name} said nothing within {timeout} s; see {self.log}")
        return self.popen.stdout.readline().strip()

    def wait_http(self, url: str, timeout: float = 60.0, ok: tuple[int, ...] = (200,)) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log}")
            try:
                if httpx.get(url, timeout=1.0).status_code in ok:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # polling a child that is starting up: nothing to wait on but time
        raise RuntimeError(f"{self.name} did not answer at {url} within {timeout} s; see {self.log}")

    def wait_log(self, needle: str, timeout: float = 60.0) -> None:
        """Wait until the child's log holds `needle` (a child that says it is ready)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log}")
            if self.log.exists() and needle in self.log.read_text(errors="replace"):
                return
            time.sleep(0.05)  # a child that is starting up: nothing to wait on but time
        raise RuntimeError(f"{self.name} did not say {needle!r} within {timeout} s; see {self.log}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        if self._log_file is not None:
            self._log_file.close()


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: ours without Slack/OpenAI/orch settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ORCH_", "OPENAI_"))}
    env.update(extra)
    return env


def run_load(spec: dict[str, Any], *, timeout: float = 600.0) -> dict[str, Any]:
    """Run the load generator in its own process and return its result."""
    out = subprocess.run(
        python("-m", "bench.load"),
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout)
