"""Files changed with added/removed line counts, from a unified diff."""

from __future__ import annotations


def diffstat(diff: str) -> list[tuple[str, int, int]]:
    stats: dict[str, list[int]] = {}
    current: str | None = None
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            parts = line.split(" b/", 1)
            current = parts[1] if len(parts) == 2 else line
            stats.setdefault(current, [0, 0])
        elif current is None or line.startswith(("+++", "---")):
            continue
        elif line.startswith("+"):
            stats[current][0] += 1
        elif line.startswith("-"):
            stats[current][1] += 1
    return [(path, added, removed) for path, (added, removed) in stats.items()]
