"""The deterministic harvest: known configuration files of a repository → patterns and adapters.

No model and no network: the same source gives the same assets, byte for byte, so a second
harvest of an unchanged repository proposes no change. The convention pages are written from the
facts the harvesters noted; with a model, `bot.learn.summarise` adds a prose summary on top.
"""

from __future__ import annotations

from pathlib import Path

from bot.learn import _toml, agents_md
from bot.learn._ci import harvest_ci, harvest_hooks_and_editor, make_targets
from bot.learn._codemods import harvest_codemods
from bot.learn._frontend import harvest_frontend
from bot.learn._python import harvest_python
from bot.learn.adapters import TESTS_ADAPTER
from bot.learn.files import Asset, Harvest, Source

TOPIC_TITLES = {
    "python-style": "Python style",
    "javascript-style": "JavaScript style",
    "editor": "Editor settings",
    "pre-commit": "Pre-commit hooks",
    "ci": "Continuous integration",
    "tests": "Tests",
    "commands": "Project commands",
    "codemods": "Codemods",
}
# SOP templates a source may bring (its own overrides), by the names the drafters load.
SOP_TEMPLATES = ("prd", "tasks", "spec", "action-plan")
PR_TEMPLATES = (
    ".github/pull_request_template.md",
    ".github/PULL_REQUEST_TEMPLATE.md",
    "docs/pull_request_template.md",
)


def harvest(root: Path, *, source: str) -> Harvest:
    """Everything `orch learn` proposes from the repository at `root`, labelled `source`."""
    result = Harvest(source=source)
    src = Source(root, result)
    harvest_python(src)
    scripts = harvest_frontend(src)
    ci_tests = harvest_ci(src)
    harvest_hooks_and_editor(src)
    targets = make_targets(src)
    _tests(src, ci_tests, scripts, targets)
    _templates(src)
    harvest_codemods(src)
    for topic in sorted(result.facts):
        result.add(_convention_page(topic, result.facts[topic]))
    if (agents := agents_md.asset(result, TOPIC_TITLES)) is not None:
        result.add(agents)
    return result


def _tests(
    src: Source, ci_tests: list[tuple[str, str]], scripts: dict[str, str], targets: dict[str, str]
) -> None:
    """The test command, by how explicit a project is: a Makefile target, what CI runs, then tool config."""
    from bot.sop.scaffold import detect_test_command

    command, origin, _notes = detect_test_command(src.root)
    alternatives = [run for run, _ in ci_tests]
    if "test" in targets:
        alternatives.append("make test")
    if "test" in scripts:
        alternatives.append("npm test")
    if ci_tests and origin not in ("Makefile", "GNUmakefile", "makefile", TESTS_ADAPTER):
        if command is not None:
            alternatives.append(command)
        command, origin = ci_tests[0]
    elif command is None and alternatives:
        command, origin = alternatives[0], "Makefile" if "test" in targets else "package.json"
    if command is None:
        return
    others = [a for a in dict.fromkeys(alternatives) if a != command]
    tests: dict[str, object] = {"command": command, "source": origin or "unknown"}
    if others:
        tests["alternatives"] = others
    content = _toml.dumps(
        {"schema": 1, "tests": tests},
        header="The test command the builder and tester run in a goal's worktree.\n"
        "Harvested by orch learn; edit it to change what counts as a passing build.",
    )
    src.harvest.add(Asset(TESTS_ADAPTER, content, "tests", "tests", origin or "unknown"))
    src.harvest.fact("tests", f"Run the tests with `{command}` (from {origin}).")
    for other in others:
        src.harvest.fact("tests", f"CI or scripts also run `{other}`.")


def _templates(src: Source) -> None:
    for name in SOP_TEMPLATES:
        for folder in ("patterns/templates", "tasks/templates"):
            rel = f"{folder}/{name}.md"
            text = src.text(rel)
            if text is not None:
                src.harvest.add(Asset(f"patterns/templates/{name}.md", text, "template", "sop", rel))
                break
    for rel in PR_TEMPLATES:
        text = src.text(rel)
        if text is not None:
            src.harvest.add(
                Asset("patterns/templates/pull-request.md", text, "template", "pull-request", rel)
            )
            break
    for rel in src.glob(".github/ISSUE_TEMPLATE/*.md"):
        text = src.text(rel)
        if text is not None:
            stem = Path(rel).stem.lower().replace("_", "-").replace(" ", "-")
            src.harvest.add(Asset(f"patterns/templates/issue-{stem}.md", text, "template", "issue", rel))


def _convention_page(topic: str, facts: list[str]) -> Asset:
    title = TOPIC_TITLES.get(topic, topic.replace("-", " ").capitalize())
    lines = [
        f"# {title}",
        "",
        # The source (with its commit) is in patterns/index.json; naming it here would make every
        # page change whenever the source moves on, even when its conventions did not.
        "<!-- Harvested by `orch learn` without a model; the origin is in patterns/index.json. Edit freely: "
        "the next harvest proposes its changes as a diff for approval. -->",
        "",
        *(f"- {fact}" for fact in facts),
    ]
    return Asset(f"patterns/conventions/{topic}.md", "\n".join(lines) + "\n", "convention", topic, "harvest")
