"""An index that cannot be forged: the bot signs its commits; a person's edit of tasks/ is refused.

Real git with SSH signing (ssh-keygen), the bot driven through `orch` in-process. The goal's first
steps are committed before signing is set up (history from before `.orch/allowed_signers`, accepted
as it is); every later change of `tasks/` must be a commit signed by an allowed key.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.repo.signing import generate_key
from tests.support.sop_cli import APPROVERS, REQUESTER, OrchCli, setup_env

LEAD = APPROVERS[0]


def guard(repo: Path, *args: str) -> tuple[int, str]:
    from bot.cli import app

    result = CliRunner().invoke(app, ["spec-guard", "--repo", str(repo), *args])
    return result.exit_code, result.output


def person(repo: Path, *args: str, key: Path | None = None) -> subprocess.CompletedProcess[str]:
    signing = (
        ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "-c", "commit.gpgsign=true"] if key else []
    )
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *signing, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[OrchCli, Path, Path]:
    """G-0001 at its Task List: scaffold approved before signing, the PRD approved after it."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    repo = tmp_path / "repo"
    setup_env(monkeypatch, tmp_path, repo)
    orch = OrchCli()
    orch("goal", "start", "Add CSV export of invoices", "--as", REQUESTER)
    orch("goal", "approve", "G-0001", "--as", LEAD)  # before signing: grandfathered
    key = tmp_path / "data" / "signing_key"
    monkeypatch.setenv("ORCH_SIGNING_KEY", str(key))
    out = orch("signing", "init")
    assert ".orch/allowed_signers now allows signing_key" in out.output
    orch("goal", "approve", "G-0001", "--as", LEAD)  # the PRD, in a signed commit
    return orch, repo, key


def _reset(repo: Path) -> None:
    assert person(repo, "reset", "-q", "--hard", "HEAD~1").returncode == 0


def test_signed_bot_commits_and_history_before_signing_pass(signed: tuple[OrchCli, Path, Path]) -> None:
    _orch, repo, _key = signed
    shown = person(repo, "log", "-1", "--format=%G? %s", "--", "tasks/index.json").stdout
    assert "approve PRD v1" in shown
    code, out = guard(repo)
    assert code == 0, out
    (repo / "NOTES.md").write_text("an honest change\n", encoding="utf-8")
    person(repo, "add", "NOTES.md")
    assert person(repo, "commit", "-qm", "notes").returncode == 0
    assert guard(repo)[0] == 0


def test_a_person_flipping_spec_required_in_the_index_is_refused(signed: tuple[OrchCli, Path, Path]) -> None:
    _orch, repo, _key = signed
    index = json.loads((repo / "tasks/index.json").read_text(encoding="utf-8"))
    index["goals"][0]["spec_required"] = False
    (repo / "tasks/index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    hooked = person(repo, "commit", "-qam", "no spec needed")  # the hook the scaffold installed refuses it
    assert (
        hooked.returncode != 0
        and "tasks/index.json: is written only by orch" in hooked.stdout + hooked.stderr
    )
    assert person(repo, "commit", "--no-verify", "-qam", "no spec needed").returncode == 0  # forced past it
    code, out = guard(repo)
    assert code == 1
    assert "changes tasks/index.json without the signature of a key in .orch/allowed_signers" in out
    assert "revert that change" in out


def test_a_person_re_hashing_an_edited_artifact_is_refused(signed: tuple[OrchCli, Path, Path]) -> None:
    import hashlib

    _orch, repo, _key = signed
    prd = repo / "tasks/G-0001/prd.md"
    prd.write_text(prd.read_text(encoding="utf-8") + "\nA requirement nobody approved.\n", encoding="utf-8")
    digest = hashlib.sha256(prd.read_bytes()).hexdigest()
    text = (repo / "tasks/index.json").read_text(encoding="utf-8")
    index = json.loads(text)
    old = next(a["sha256"] for a in index["goals"][0]["artifacts"] if a["phase"] == "prd")
    (repo / "tasks/index.json").write_text(text.replace(old, digest), encoding="utf-8")
    assert guard(repo, "--max-age-days", "36500")[0] == 0  # files and index agree: only signatures tell
    assert person(repo, "commit", "--no-verify", "-qam", "tweak the PRD").returncode == 0
    code, out = guard(repo)
    assert code == 1 and "tasks/G-0001/prd.md, tasks/index.json without the signature" in out


def test_an_index_change_signed_by_a_foreign_key_is_refused(
    signed: tuple[OrchCli, Path, Path], tmp_path: Path
) -> None:
    _orch, repo, _key = signed
    mine = tmp_path / "dev_key"
    generate_key(mine, "dev")
    index = json.loads((repo / "tasks/index.json").read_text(encoding="utf-8"))
    index["goals"][0]["approvals"][-1]["by"] = "U_SOMEONE"
    (repo / "tasks/index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    forged = person(
        repo, "commit", "--no-verify", "-qam", "orch(G-0001): approve\n\nOrch-Effect: x", key=mine
    )
    assert forged.returncode == 0, forged.stderr
    assert "G" not in person(repo, "log", "-1", "--format=%G?").stdout  # no allowed signers configured
    code, out = guard(repo)
    assert code == 1 and "without the signature of a key in .orch/allowed_signers" in out
    # Adding one's own key to the allowed signers does not help: that change needs an allowed key.
    _reset(repo)
    line = (tmp_path / "dev_key.pub").read_text(encoding="utf-8").split()
    with (repo / ".orch/allowed_signers").open("a", encoding="utf-8") as fh:
        fh.write(f'dev@example.com namespaces="git" {line[0]} {line[1]}\n')
    (repo / "tasks/index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    person(repo, "add", "-f", ".orch/allowed_signers")
    assert person(repo, "commit", "--no-verify", "-qam", "trust me", key=mine).returncode == 0
    code, out = guard(repo)
    assert (
        code == 1 and "changes .orch/allowed_signers without the signature of a key it listed before" in out
    )


def test_the_hook_refuses_a_staged_index_edit_naming_the_file(signed: tuple[OrchCli, Path, Path]) -> None:
    _orch, repo, _key = signed
    (repo / "tasks/index.json").write_text(
        (repo / "tasks/index.json").read_text(encoding="utf-8").replace('"read-only"', '"full-access"'),
        encoding="utf-8",
    )
    person(repo, "add", "tasks/index.json")
    code, out = guard(repo, "--staged")
    assert code == 1
    assert "tasks/index.json: is written only by orch" in out
    assert "git restore --staged --worktree tasks/index.json" in out


def test_a_key_is_rotated_by_a_commit_signed_with_the_old_one(
    signed: tuple[OrchCli, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orch, repo, _key = signed
    new = tmp_path / "data" / "signing_key_2"
    assert "signed with signing_key)" in orch("signing", "init", "--key", str(new)).output
    monkeypatch.setenv("ORCH_SIGNING_KEY", str(new))
    orch("goal", "approve", "G-0001", "--as", LEAD)  # the task list, signed with the new key
    code, out = guard(repo)
    assert code == 0, out
    signers = (repo / ".orch/allowed_signers").read_text(encoding="utf-8").splitlines()
    assert len(signers) == 2
    # The old key retires: its line goes in a commit the new key signs; what it signed stays verified.
    (repo / ".orch/allowed_signers").write_text(signers[1] + "\n", encoding="utf-8")
    assert person(repo, "commit", "--no-verify", "-qam", "retire the old key", key=new).returncode == 0
    code, out = guard(repo)
    assert code == 0, out


def test_a_decision_needs_the_bots_trailers_even_in_a_signed_commit(
    signed: tuple[OrchCli, Path, Path],
) -> None:
    """Defence in depth: the key alone (say, used by hand) does not make a decision without its trailers."""
    _orch, repo, key = signed
    index = json.loads((repo / "tasks/index.json").read_text(encoding="utf-8"))
    extra = dict(index["goals"][0]["approvals"][-1], by="U_QA", at="2030-01-01T00:00:00Z")
    index["goals"][0]["approvals"].append(extra)
    (repo / "tasks/index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    by_hand = ["-c", "user.email=orch-bot@users.noreply.local"]
    assert person(repo, *by_hand, "commit", "--no-verify", "-qam", "approve", key=key).returncode == 0
    code, out = guard(repo, "--max-age-days", "36500")
    assert code == 1 and "records decisions without an Orch-Effect trailer" in out
    _reset(repo)
    (repo / "tasks/index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    message = "orch(G-0001): approve\n\nOrch-Effect: publish:G-0001:forged"
    assert person(repo, *by_hand, "commit", "--no-verify", "-qam", message, key=key).returncode == 0
    code, out = guard(repo, "--max-age-days", "36500")
    assert code == 1 and "the approve by U_QA was recorded by commit" in out and "does not name them" in out
