"""Start real `orch` processes for tests and wait for them with bounded, sleep-free waits."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OrchProcess:
    """`python -m bot <args>` as a real subprocess; its output lines are collected as they come."""

    args: list[str]
    env: Mapping[str, str]
    proc: subprocess.Popen[str] | None = None
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def start(self) -> OrchProcess:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", *self.args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def wait_for_line(self, needle: str, timeout: float = 30.0) -> str:
        """Block until a line containing `needle` is printed (bounded by `timeout`)."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    line = self.lines.get(timeout=timeout)
                except queue.Empty:
                    break
                self.seen.append(line)
                if line == "":
                    break
                if needle in line:
                    return line
        finally:
            timer.cancel()
        raise AssertionError(f"{needle!r} not printed; output so far:\n" + "".join(self.seen[-40:]))

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode
