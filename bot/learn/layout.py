"""The documented layout of a target repository's learning assets (`patterns/README.md`)."""

from __future__ import annotations

README_PATH = "patterns/README.md"

README = """\
# Learning assets

Codex-Orchestrator keeps what worked in this repository as reusable assets, so each goal starts
from the team's own conventions instead of from scratch. `orch learn <path or git URL>` (or
`/orch learn` in Slack) harvests an established repository's conventions into these folders as
a diff; nothing lands on the main branch until an approver approves it.

## Layout

```
patterns/
  README.md          this page
  index.json         every asset: path, kind, tool, origin (source and file), version, sha256,
                     updated_at, last_used
  conventions/       one page per topic (python-style.md, javascript-style.md, editor.md,
                     pre-commit.md, ci.md, tests.md, commands.md); summary.md when a model
                     summarised the harvest
  templates/         prd.md, tasks.md, spec.md, action-plan.md: the drafters pour every draft
                     into these (falling back to the built-in templates); pull-request.md and
                     issue-*.md as harvested
  codemods/          <id>/rule.yml (an ast-grep rule: id, language, message, rule, fix) with
                     fixture/before.* and fixture/after.*; harvested only when the fixture
                     holds; a task that names the id gets it applied by the builder, no model
  lint-rules/        project-specific lint rules (added by hand)
adapters/            versioned configuration for tools and services
  tests.toml         [tests] command: what the builder and tester run in a goal's worktree
                     (falls back to detection from Makefile, pyproject.toml, package.json)
  ci.toml            the CI steps, in pipeline order, with the file and job they come from
  ci/                copies of the CI pipelines (github/*.yml, gitlab-ci.yml)
  linters/           ruff.toml, flake8.ini, mypy.toml, eslint configuration
  formatters/        black.toml, isort.toml, prettier configuration
  editor/            editorconfig
  pre-commit.yaml    the pre-commit hooks
  models.toml        model and Codex settings for this repository (added by hand)
evals/               evaluation fixtures for `orch eval`: a brief and the properties its
                     artifacts must have (required sections, task count range, spec expected)
```

## Rules

- Assets are plain files: edit them like code. A new harvest proposes only what changed, and
  the version of an asset goes up by one each time its content changes.
- `origin` says where an asset came from: the source repository (name and commit) and the
  file or section in it. Hand-written assets keep whatever entry you give them.
- `last_used` is when the bot last read the asset (a draft of the phase that uses a template,
  a Scaffold Check or build that reads `adapters/tests.toml`), taken from the audit log.
- Copies keep their meaning but not their effect: `adapters/editor/editorconfig` is not
  `.editorconfig`. Move a file into place in a goal of its own if you want it to take effect.
"""
