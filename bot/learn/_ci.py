"""CI pipelines, pre-commit hooks, editorconfig and Makefile targets."""

from __future__ import annotations

import re
from typing import Any

from bot.learn import _toml
from bot.learn.files import Asset, Source

TEST_RUN = re.compile(
    r"(?<![\w-])(?:python -m pytest|pytest|tox|nox|(?:npm|yarn|pnpm) (?:run )?test|go test|cargo test|make test)"
    r"(?![\w-])"
)
MAKE_TARGETS = ("test", "check", "lint", "format", "typecheck")
_MAKE_RULE = re.compile(r"^([A-Za-z0-9_.-]+)\s*:(?!=)")


def _one_line(text: str) -> str:
    return " && ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())


def harvest_ci(src: Source) -> list[tuple[str, str]]:
    """Harvest CI files into adapters; return the test commands the pipelines run (command, file)."""
    steps: list[dict[str, Any]] = []
    for rel in src.glob(".github/workflows/*.yml") + src.glob(".github/workflows/*.yaml"):
        text = src.text(rel)
        if text is None:
            continue
        name = rel.rsplit("/", 1)[-1]
        src.harvest.add(Asset(f"adapters/ci/github/{name}", text, "ci", "github-actions", rel))
        steps += _github_steps(src, rel, src.yaml(rel))
    text = src.text(".gitlab-ci.yml")
    if text is not None:
        src.harvest.add(Asset("adapters/ci/gitlab-ci.yml", text, "ci", "gitlab-ci", ".gitlab-ci.yml"))
        steps += _gitlab_steps(src, src.yaml(".gitlab-ci.yml"))
    if steps:
        content = _toml.dumps(
            {"schema": 1, "steps": steps},
            header="CI steps harvested by orch learn, in pipeline order (origin file, job, step).",
        )
        origins = sorted({s["origin"] for s in steps})
        src.harvest.add(Asset("adapters/ci.toml", content, "ci", "ci-steps", ", ".join(origins)))
    # Single commands only: a compound step ("install && test") is not a test command to reuse.
    tests = [(s["run"], s["origin"]) for s in steps if "run" in s and TEST_RUN.search(s["run"])]
    return [(run, origin) for run, origin in dict.fromkeys(tests) if "&&" not in run]


def _github_steps(src: Source, rel: str, workflow: Any) -> list[dict[str, Any]]:
    jobs = workflow.get("jobs") if isinstance(workflow, dict) else None
    if not isinstance(jobs, dict):
        return []
    out: list[dict[str, Any]] = []
    for job_id, job in jobs.items():
        if not isinstance(job, dict) or not isinstance(job.get("steps"), list):
            continue
        shown = []
        for step in job["steps"]:
            if not isinstance(step, dict):
                continue
            item: dict[str, Any] = {"origin": rel, "job": str(job_id)}
            if step.get("name"):
                item["name"] = str(step["name"])
            if step.get("uses"):
                item["uses"] = str(step["uses"])
                shown.append(str(step["uses"]))
            if step.get("run"):
                item["run"] = _one_line(step["run"])
                shown.append(f"`{item['run']}`")
            if "uses" in item or "run" in item:
                out.append(item)
        if shown:
            src.harvest.fact("ci", f"`{rel}` job `{job_id}`: " + " → ".join(shown) + ".")
    return out


_GITLAB_RESERVED = {
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
}


def _gitlab_steps(src: Source, pipeline: Any) -> list[dict[str, Any]]:
    if not isinstance(pipeline, dict):
        return []
    out: list[dict[str, Any]] = []
    for job_id, job in pipeline.items():
        if job_id in _GITLAB_RESERVED or str(job_id).startswith(".") or not isinstance(job, dict):
            continue
        script = job.get("script")
        lines = script if isinstance(script, list) else [script] if isinstance(script, str) else []
        runs = [_one_line(line) for line in lines if isinstance(line, str) and line.strip()]
        for run in runs:
            out.append({"origin": ".gitlab-ci.yml", "job": str(job_id), "run": run})
        if runs:
            stage = f" (stage {job['stage']})" if job.get("stage") else ""
            src.harvest.fact(
                "ci", f"`.gitlab-ci.yml` job `{job_id}`{stage}: " + " → ".join(f"`{r}`" for r in runs) + "."
            )
    return out


def harvest_hooks_and_editor(src: Source) -> None:
    text = src.text(".pre-commit-config.yaml")
    if text is not None:
        src.harvest.add(
            Asset("adapters/pre-commit.yaml", text, "hooks", "pre-commit", ".pre-commit-config.yaml")
        )
        config = src.yaml(".pre-commit-config.yaml")
        repos = config.get("repos") if isinstance(config, dict) else None
        for repo in repos if isinstance(repos, list) else []:
            if not isinstance(repo, dict):
                continue
            hooks = [str(h.get("id")) for h in repo.get("hooks") or [] if isinstance(h, dict) and h.get("id")]
            rev = f" @ {repo['rev']}" if repo.get("rev") else ""
            src.harvest.fact("pre-commit", f"`{repo.get('repo')}`{rev}: {', '.join(hooks) or 'no hooks'}.")
    text = src.text(".editorconfig")
    if text is not None:
        src.harvest.add(
            Asset("adapters/editor/editorconfig", text, "editor", "editorconfig", ".editorconfig")
        )
        for glob, settings in _editorconfig_sections(text):
            if settings:
                src.harvest.fact("editor", f"`{glob}`: " + ", ".join(f"{k} {v}" for k, v in settings) + ".")


def _editorconfig_sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1], []))
        elif "=" in line and sections:
            key, _, value = line.partition("=")
            sections[-1][1].append((key.strip(), value.strip()))
    return sections


def make_targets(src: Source) -> dict[str, str]:
    """Recipes of the well-known Makefile targets (target → commands joined with `&&`)."""
    text = next(
        (t for name in ("GNUmakefile", "makefile", "Makefile") if (t := src.text(name)) is not None), None
    )
    if text is None:
        return {}
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("\t") and current is not None:
            found[current].append(line.strip().lstrip("@-").strip())
            continue
        match = _MAKE_RULE.match(line)
        current = match.group(1) if match and match.group(1) in MAKE_TARGETS else None
        if current is not None:
            found.setdefault(current, [])
    targets = {name: " && ".join(cmds) for name, cmds in found.items() if cmds}
    for name, recipe in targets.items():
        src.harvest.fact(
            "tests" if name in ("test", "check") else "commands", f"`make {name}` runs `{recipe}`."
        )
    return targets
