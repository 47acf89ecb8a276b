"""A description of the machine and the moment, printed with every table."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": _memory_gb(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_start": load_average(),
    }


def one_line(machine: dict[str, Any]) -> str:
    load = machine.get("load_average_start") or []
    end = machine.get("load_average_end") or []
    return (
        f"{machine['cores']} cores ({machine['cpu']}), {machine.get('memory_gb')} GB, "
        f"{machine['implementation']} {machine['python']}, {machine['os']}, {machine['date']}; "
        f"load average {load[0] if load else '?'} at the start, {end[0] if end else '?'} at the end"
    )
