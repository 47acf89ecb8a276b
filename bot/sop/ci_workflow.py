"""`orch install-ci`: the spec guard as a GitHub Actions workflow.

The workflow checks the commits of the push or pull request one by one (`--range BASE..HEAD`) and
the tree at its head, so an edit slipped in by one commit and undone by the next is still seen.
Other CIs run the same two commands (docs/SPEC_GUARD.md).
"""

from __future__ import annotations

from pathlib import Path

from bot import __version__
from bot.repo.errors import NotARepositoryError
from bot.repo.git import repo_top_level
from bot.sop.index import write_atomic

WORKFLOW_PATH = ".github/workflows/spec-guard.yml"
DEFAULT_PACKAGE = f"codex-orchestrator=={__version__}"

WORKFLOW = """# Written by `orch install-ci` (Codex-Orchestrator): the spec guard on every push and pull request.
# It refuses an edit of an approved artifact or of tasks/index.json that no approval covers, a
# missing required Mini-Spec, and reviews older than 30 days.
name: spec-guard
on:
  push:
  pull_request:
permissions:
  contents: read
jobs:
  spec-guard:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the guard reads the history of tasks/ and each commit of the push
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install the guard
        run: python -m pip install "{package}"
      - name: Spec guard
        env:
          BASE: ${{{{ github.event_name == 'pull_request' && github.event.pull_request.base.sha || github.event.before }}}}
        run: |
          if [ -n "$BASE" ] && git cat-file -e "$BASE^{{commit}}" 2>/dev/null; then
            orch spec-guard --repo . --range "$BASE..HEAD"
          else
            orch spec-guard --repo .
          fi
"""


def workflow_text(package: str = DEFAULT_PACKAGE) -> str:
    return WORKFLOW.format(package=package)


def write_workflow(repo_path: str | Path, *, force: bool = False, package: str = DEFAULT_PACKAGE) -> bool:
    """Write the workflow into the repository; False when one is there and `force` is not given."""
    top = repo_top_level(repo_path)
    if top is None:
        raise NotARepositoryError("not inside a git repository")
    path = top / WORKFLOW_PATH
    text = workflow_text(package)
    if path.exists() and not force and path.read_text(encoding="utf-8") != text:
        return False
    write_atomic(path, text)
    return True
