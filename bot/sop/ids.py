"""How goals and artifact versions are identified: the goal id and the sha256 an approval binds to.

One definition for every room: Block Kit button values, commands, the MCP server, the services and
the repository's paths and branches all check goal ids against `GOAL_ID_RE` (ASCII digits, the
whole string), and every artifact hash is `sha256_text` of its Markdown.
"""

from __future__ import annotations

import hashlib
import re

GOAL_ID = r"G-\d{4,}"  # the pattern, for finding ids inside longer text
GOAL_ID_RE = re.compile(rf"^{GOAL_ID}\Z", re.ASCII)  # a whole goal id and nothing else


def sha256_text(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()
