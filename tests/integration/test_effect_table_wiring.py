"""The composition root builds one complete effect table, whatever the settings choose."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import build_container
from bot.sop.effect_kinds import AGENT_KINDS, KINDS, OUTBOX_KINDS
from tests.conftest import make_settings


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # the direct implementer, no Slack
        {"implementer": "manager", "openai_base_url": "http://127.0.0.1:9/v1"},
        {"slack_bot_token": "xoxb-test-token", "slack_api_url": "http://127.0.0.1:9/api/"},
    ],
    ids=["direct", "manager", "slack"],
)
def test_every_kind_has_exactly_one_handler_once_the_process_is_built(
    tmp_path: Path, target_repo: Path, overrides: dict[str, str]
) -> None:
    c = build_container(make_settings(tmp_path, target_repo, **overrides))
    # Effects go to the outbox's table, agent work (draft, build) to the job worker's: each kind once.
    assert set(c.dispatcher.handlers) == set(OUTBOX_KINDS)
    assert c.jobs is not None and set(c.jobs.handlers) == set(AGENT_KINDS)  # type: ignore[attr-defined]
    assert set(OUTBOX_KINDS) | set(AGENT_KINDS) == set(KINDS)
    assert (c.manager is not None) == (overrides.get("implementer") == "manager")
    # The table is built once: a second one is refused rather than laid over the first.
    with pytest.raises(RuntimeError, match="installed once"):
        c.dispatcher.install(c.dispatcher.handlers)
