"""`/orch learn` and `/orch metrics` over real HTTP against the sandbox, and the App Home's metrics."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Live
from tests.integration.test_learn import make_sample


@pytest.mark.slow
def test_learn_is_proposed_and_adopted_by_two_approvers_in_slack(live: Live, tmp_path: Path) -> None:
    sample = make_sample(tmp_path / "upstream", tmp_path / "outside.json")
    sb = live.sb

    sb.slash("U_REQ", "C_DEV", f"learn {sample}")
    assert "Only approvers" in sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="Only approvers").text

    sb.slash("U_APP1", "C_DEV", f"learn {sample}")
    posted = sb.wait_for_message("C_DEV", text_contains="proposes conventions", timeout=30)
    match = re.search(r"(L-[0-9a-f]{8})", posted.text)
    assert match is not None
    pid = match.group(1)
    assert "adapters/tests.toml" in posted.text and "+line-length = 100" in posted.text

    sb.slash("U_APP1", "C_DEV", f"learn approve {pid}")
    assert sb.wait_for_ephemeral("U_APP1", "C_DEV", text_contains="another approver")
    sb.slash("U_APP2", "C_DEV", f"learn approve {pid}")
    adopted = sb.wait_for_message("C_DEV", text_contains="adopted by", timeout=30)
    assert pid in adopted.text
    log = subprocess.run(
        ["git", "-C", str(live.repo), "log", "-1", "--format=%s"], capture_output=True, text=True, check=True
    ).stdout
    assert log.startswith(f"orch learn: merge {pid}")
    assert (live.repo / "patterns" / "index.json").is_file()

    sb.slash("U_APP1", "C_DEV", "metrics 7d")
    lines = sb.wait_for_ephemeral("U_APP1", "C_DEV", text_contains="Gates approved before implementation")
    assert "Automation runs without manual fix-ups" in lines.text
    sb.slash("U_APP1", "C_DEV", "metrics yesterday-ish")
    assert sb.wait_for_ephemeral("U_APP1", "C_DEV", text_contains="Try `/orch metrics 7d`")

    sb.open_home("U_APP1")
    home = sb.wait_for(lambda: sb.home("U_APP1"), timeout=30, what="the App Home")
    assert "How the procedure is doing" in home.render()
    assert "Gates approved before implementation: no data yet" in home.render()
