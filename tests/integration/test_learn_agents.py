"""Learning that reaches the agents: `orch learn` proposes an AGENTS.md, and once it is approved the
drafter and the builder are given it (asserted on what the scripted models received)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from agents.testing import ScriptedModel, assistant_message

from bot.agents.sdk import AgentsDrafter
from bot.codex.binary import find_codex
from bot.learn.agents_md import END, START
from bot.observability.runs import load_run
from bot.repo.git import ensure_repo
from bot.sop.phases import Phase
from bot.sop.records import TaskRecord
from sandbox.models.responses import ResponsesServer, message
from storage.models import Effect
from tests.integration.test_agents_sdk_drafter import ScriptedProvider, model_output
from tests.integration.test_learn import env, git, learn  # noqa: F401 - the fixture is used by name
from tests.support.sop_cli import OrchCli

HAND_WRITTEN = "# Team notes\n\nNever push to main directly.\n"


def adopt(env: dict[str, Path]) -> str:  # noqa: F811 - the fixture's value, not the fixture
    target, sample = env["target"], env["sample"]
    (target / "AGENTS.md").write_text(HAND_WRITTEN)
    git(target, "add", "AGENTS.md")
    git(target, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-qm", "notes")
    proposal = json.loads(learn(str(sample), "--json", "--as", "U_APP1"))["proposal"]
    assert "AGENTS.md" in proposal["files"]
    diff = git(target, "diff", f"main...{proposal['branch']}", "--", "AGENTS.md")
    assert "+- Run the tests with `pytest -q`" in diff  # proposed as a diff, not written
    assert "Run the tests" not in (target / "AGENTS.md").read_text()
    learn("approve", proposal["id"], "--as", "U_APP2")
    return (target / "AGENTS.md").read_text()


def test_learn_proposes_agents_md_and_keeps_what_people_wrote_in_it(env: dict[str, Path]) -> None:  # noqa: F811
    text = adopt(env)
    assert text.startswith(HAND_WRITTEN.rstrip("\n"))
    assert START in text and END in text
    assert "### Tests" in text and "- Run the tests with `pytest -q` (from .github/workflows/ci.yml)." in text
    assert "### Python style" in text
    # Harvesting the same source again proposes nothing: the marked part is already there.
    assert "nothing new to learn" in learn(str(env["sample"]))


def test_an_approved_agents_md_reaches_the_drafters_prompt(
    env: dict[str, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adopt(env)
    monkeypatch.setenv("ORCH_AGENT_BACKEND", "offline")
    orch = OrchCli()
    orch("goal", "start", "Add CSV export of invoices.", "--as", "U_REQ")
    orch("goal", "approve", "G-0001", "--as", "U_APP1")  # the scaffold check; the PRD is drafted next
    container = orch.container()
    from bot.effects.work_effects import WorkEffects

    scripted = ScriptedModel([[assistant_message(model_output(Phase.PRD))]])
    effects = WorkEffects.from_container(container)
    effects.drafter = AgentsDrafter(ScriptedProvider({"m": scripted}), "m")
    effect = Effect(key="test-draft", kind="draft", goal_id="G-0001", payload={"phase": "prd", "version": 1})
    asyncio.run(effects.draft(effect))
    seen = json.dumps(scripted.last_call.input if scripted.last_call else None)
    assert "<repo_guidance>" in seen and "--- AGENTS.md ---" in seen
    assert "Run the tests with `pytest -q`" in seen and "Never push to main directly." in seen
    assert "--- patterns/conventions/python-style.md ---" in seen


def test_an_approved_agents_md_reaches_codex_and_the_run_record_names_it(
    env: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    codex = find_codex()
    if codex is None:
        pytest.skip("the codex CLI is not installed: `make codex` installs it (needs npm)")
    adopt(env)
    from bot.agents.implement import implement_task
    from bot.config import Settings

    worktree = Path(ensure_repo(env["target"]).worktree_add("G-0001"))
    with ResponsesServer([[message("Nothing to change.")]]) as server:
        settings = Settings(
            repo=env["target"],
            builder="codex",
            codex_bin=str(codex),
            codex_provider_url=server.base_url,
            codex_timeout=60,
            runs_dir=tmp_path / "runs",
            test_command="true",
        )
        result = implement_task(
            settings=settings,
            goal_id="G-0001",
            task=TaskRecord(id=1, title="Export invoices", files=["src/export.py"]),
            worktree=worktree,
            feedback=None,
            mode="workspace-write",
        )
        seen = json.dumps(server.requests[0]["body"]["input"])
    assert "<repo_guidance>" in seen and "Run the tests with `pytest -q`" in seen
    meta = load_run(tmp_path / "runs", result.run_id)["meta"]
    assert meta["patterns"][0] == "AGENTS.md"
    assert "patterns/conventions/tests.md" in meta["patterns"]
