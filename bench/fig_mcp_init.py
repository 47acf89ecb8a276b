"""How long `orch mcp` takes to answer MCP `initialize` over stdio (Codex's tool search looks early).

Run: `python -m bench.fig_mcp_init [runs]`. Each run starts `python -m bot mcp` against an empty
SQLite database, sends `initialize` and times the answer; the figure is the median and the worst.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


def once(workdir: Path) -> float:
    env = {
        **os.environ,
        "ORCH_DATABASE_URL": f"sqlite:///{workdir / 'orch.db'}",
        "ORCH_REPO": str(workdir),
        "ORCH_AGENT_BACKEND": "offline",
    }
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "mcp"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(INITIALIZE) + "\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline())
        took = time.perf_counter() - t0
        if answer.get("id") != 1 or "result" not in answer:
            raise RuntimeError(f"unexpected answer to initialize: {answer}")
        return took
    finally:
        proc.kill()
        proc.wait()


def measure(runs: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="orch-mcp-bench-") as tmp:
        subprocess.run(["git", "init", "-q", tmp], check=True)
        times = [once(Path(tmp)) for _ in range(runs)]
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3), "runs": runs}


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
