"""The image carries the same pinned Codex CLI as `make setup` and the code expect."""

from __future__ import annotations

import re
from pathlib import Path

from bot.codex.binary import CODEX_VERSION

REPO = Path(__file__).resolve().parents[2]


def test_the_image_installs_the_pinned_codex_cli_and_points_the_bot_at_it() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^ARG CODEX_VERSION=(\S+)$", dockerfile, re.M).group(1) == CODEX_VERSION  # type: ignore[union-attr]
    assert re.search(r"^CODEX_VERSION := (\S+)$", makefile, re.M).group(1) == CODEX_VERSION  # type: ignore[union-attr]
    assert '"@openai/codex@${CODEX_VERSION}"' in dockerfile
    assert "COPY --from=codex /opt/codex /opt/codex" in dockerfile
    assert "ORCH_CODEX_BIN=/opt/codex/bin/codex" in dockerfile
