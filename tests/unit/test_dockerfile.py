"""The Dockerfile builds a small, non-root image that runs `orch serve` and bakes in no secrets.

No Docker engine is needed: a small parser reads the instructions, and each rule is a pure check that
returns its problems, tried on the real Dockerfile and on a broken one so every rule can fail.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

SLIM_PYTHON = re.compile(r"^python:3\.\d+(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")
ROOT_USERS = {"root", "0", "root:root", "0:0", "root:0", "0:root"}
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
SECRET_VALUE = re.compile(r"xox[abpr]-|xapp-|\bsk-[A-Za-z0-9]|://[^/\s:@]+:[^/\s@]+@")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse(text: str) -> list[Instruction]:
    """Instructions with continuations joined, the way Docker's parser reads them.

    Comment lines are dropped even inside a continuation (Docker does the same), so a commented-out
    flag in the middle of a RUN does not end it. Heredocs and a custom escape character are not used
    here and not supported.
    """
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if not continued:
            keyword, _, args = " ".join(part for part in pending if part).partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip(), start))
            pending = []
    if pending:
        raise ValueError(f"line {start}: continuation runs off the end of the file")
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    if not starts:
        raise ValueError("no FROM instruction")
    return instructions[starts[-1] :]


def from_image(instruction: Instruction) -> str:
    return next(token for token in instruction.args.split() if not token.startswith("--"))


def env_pairs(instruction: Instruction) -> list[tuple[str, str]]:
    """`ENV a=1 b="two words"`, the legacy `ENV a one value`, and `ARG name[=default]`."""
    tokens = shlex.split(instruction.args)
    if instruction.keyword == "ENV" and tokens and "=" not in tokens[0]:
        return [(tokens[0], " ".join(tokens[1:]))]
    return [(name, value) for name, _, value in (token.partition("=") for token in tokens)]


def exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.args)
    assert isinstance(value, list), f"line {instruction.line}: {instruction.keyword} is not in exec form"
    return [str(item) for item in value]


def last(stage: list[Instruction], keyword: str) -> tuple[int, Instruction] | None:
    found = [(i, ins) for i, ins in enumerate(stage) if ins.keyword == keyword]
    return found[-1] if found else None


# Rules. Each returns the problems it finds; an empty list means the Dockerfile passes.


def check_final_base_is_slim_python(instructions: list[Instruction]) -> list[str]:
    image = from_image(final_stage(instructions)[0])
    return [] if SLIM_PYTHON.match(image) else [f"final stage is based on {image!r}, not a slim python"]


def check_runs_as_non_root(instructions: list[Instruction]) -> list[str]:
    stage = final_stage(instructions)
    user = last(stage, "USER")
    if user is None:
        return ["the final stage never sets USER, so it runs as root"]
    index, instruction = user
    problems = []
    if instruction.args.strip() in ROOT_USERS:
        problems.append(f"line {instruction.line}: USER {instruction.args} is root")
    for keyword in ("ENTRYPOINT", "CMD"):
        found = last(stage, keyword)
        if found is None or found[0] < index:
            problems.append(f"USER must come before {keyword}")
    return problems


def check_healthcheck_hits_healthz(instructions: list[Instruction]) -> list[str]:
    stage = final_stage(instructions)
    found = last(stage, "HEALTHCHECK")
    if found is None or found[1].args.upper() == "NONE":
        return ["no HEALTHCHECK in the final stage"]
    exposed = {port for ins in stage if ins.keyword == "EXPOSE" for port in ins.args.split()}
    match = re.search(r"http://127\.0\.0\.1:(\d+)/healthz\b", found[1].args)
    if match is None:
        return [f"line {found[1].line}: HEALTHCHECK does not call /healthz on 127.0.0.1"]
    if match.group(1) not in exposed:
        return [f"HEALTHCHECK port {match.group(1)} is not the EXPOSEd port {sorted(exposed)}"]
    return []


def check_starts_orch_serve(instructions: list[Instruction]) -> list[str]:
    stage = final_stage(instructions)
    entrypoint, cmd = last(stage, "ENTRYPOINT"), last(stage, "CMD")
    if entrypoint is None or cmd is None:
        return ["the final stage needs both ENTRYPOINT and CMD"]
    try:
        command = exec_form(entrypoint[1]) + exec_form(cmd[1])
    except (json.JSONDecodeError, AssertionError) as error:
        return [f"ENTRYPOINT and CMD must use the JSON exec form: {error}"]
    return [] if command == ["orch", "serve"] else [f"the container runs {command}, not orch serve"]


def check_no_baked_secrets(instructions: list[Instruction]) -> list[str]:
    problems = []
    for instruction in instructions:
        if instruction.keyword not in {"ENV", "ARG"}:
            continue
        for name, value in env_pairs(instruction):
            if SECRET_NAME.search(name) or SECRET_VALUE.search(value):
                problems.append(f"line {instruction.line}: {instruction.keyword} {name} looks like a secret")
    return problems


def check_apt_hygiene(instructions: list[Instruction]) -> list[str]:
    problems = []
    for instruction in instructions:
        if instruction.keyword == "RUN" and "apt-get install" in instruction.args:
            if "--no-install-recommends" not in instruction.args:
                problems.append(f"line {instruction.line}: apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in instruction.args:
                problems.append(f"line {instruction.line}: apt lists are left in the layer")
    return problems


Rule = Callable[[list[Instruction]], list[str]]

RULES: tuple[Rule, ...] = (
    check_final_base_is_slim_python,
    check_runs_as_non_root,
    check_healthcheck_hits_healthz,
    check_starts_orch_serve,
    check_no_baked_secrets,
    check_apt_hygiene,
)

GOOD = """\
FROM python:3.11-slim AS builder
RUN pip wheel --wheel-dir /wheels .
FROM python:3.11-slim
RUN apt-get update \\
    && apt-get install -y --no-install-recommends git \\
    && rm -rf /var/lib/apt/lists/*
ENV ORCH_HOST=0.0.0.0
EXPOSE 3000
HEALTHCHECK CMD python -c "urllib.request.urlopen('http://127.0.0.1:3000/healthz')"
USER orch
ENTRYPOINT ["orch"]
CMD ["serve"]
"""


def _instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


def _env(stage: list[Instruction]) -> dict[str, str]:
    return {name: value for ins in stage if ins.keyword == "ENV" for name, value in env_pairs(ins)}


# The real Dockerfile.


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_dockerfile_follows_the_rule(rule: Rule) -> None:
    assert rule(_instructions()) == []


def test_the_image_is_built_in_two_stages_from_pinned_wheels() -> None:
    instructions = _instructions()
    runs = " ".join(ins.args for ins in instructions if ins.keyword == "RUN")

    assert len([ins for ins in instructions if ins.keyword == "FROM"]) >= 2
    assert "pip wheel" in runs and "--constraint constraints.txt" in runs
    assert any(ins.keyword == "RUN" and "--no-index" in ins.args for ins in final_stage(instructions))


def test_the_runtime_has_git_a_data_volume_and_the_orch_settings() -> None:
    stage = final_stage(_instructions())
    runs = " ".join(ins.args for ins in stage if ins.keyword == "RUN")

    assert re.search(r"apt-get install [^&]*\bgit\b", runs)
    assert "--uid 10001" in runs
    assert _env(stage)["ORCH_DATABASE_URL"] == "sqlite:////data/orch.db"
    assert _env(stage)["ORCH_REPO"] == "/repo"
    assert _env(stage)["ORCH_HOST"] == "0.0.0.0"
    assert any(ins.keyword == "VOLUME" and "/data" in ins.args for ins in stage)
    assert any(ins.keyword == "EXPOSE" and ins.args.split() == ["3000"] for ins in stage)


def test_everything_the_build_copies_exists_and_is_not_ignored() -> None:
    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    sources = [
        token
        for ins in _instructions()
        if ins.keyword == "COPY" and "--from" not in ins.args
        for token in shlex.split(ins.args)[:-1]
        if not token.startswith("--")
    ]

    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        hits = [p for p in ignored if fnmatch.fnmatch(source.rstrip("/"), p.removeprefix("**/"))]
        assert hits == [], f"{source} is excluded from the build context by {hits}"


def test_the_build_context_leaves_out_local_state_and_caches() -> None:
    patterns = set(DOCKERIGNORE.read_text(encoding="utf-8").split())

    for needed in (".git", ".venv", ".orch", ".runs", "**/__pycache__", ".env", "tests"):
        assert needed in patterns, needed


# The rules themselves reject what they should.


def test_a_good_dockerfile_passes_every_rule() -> None:
    for rule in RULES:
        assert rule(parse(GOOD)) == [], rule.__name__


@pytest.mark.parametrize(
    ("rule", "old", "new"),
    [
        (check_final_base_is_slim_python, "FROM python:3.11-slim\n", "FROM python:3.11\n"),
        (check_runs_as_non_root, "USER orch", "USER root"),
        (check_runs_as_non_root, "USER orch\n", ""),
        (check_runs_as_non_root, 'USER orch\nENTRYPOINT ["orch"]', 'ENTRYPOINT ["orch"]\nUSER orch'),
        (check_healthcheck_hits_healthz, "/healthz", "/"),
        (check_healthcheck_hits_healthz, "EXPOSE 3000", "EXPOSE 8080"),
        (check_starts_orch_serve, 'CMD ["serve"]', 'CMD ["shell"]'),
        (check_starts_orch_serve, 'ENTRYPOINT ["orch"]', "ENTRYPOINT orch"),
        (check_no_baked_secrets, "ENV ORCH_HOST=0.0.0.0", "ENV SLACK_BOT_TOKEN=xoxb-1 ORCH_HOST=0.0.0.0"),
        (check_no_baked_secrets, "ENV ORCH_HOST=0.0.0.0", "ARG OPENAI_API_KEY"),
        (check_no_baked_secrets, "ENV ORCH_HOST=0.0.0.0", "ENV ORCH_DATABASE_URL postgresql://u:pw@db/orch"),
        (check_apt_hygiene, " --no-install-recommends", ""),
        (check_apt_hygiene, " \\\n    && rm -rf /var/lib/apt/lists/*", ""),
    ],
)
def test_a_rule_rejects_a_dockerfile_that_breaks_it(rule: Rule, old: str, new: str) -> None:
    assert old in GOOD
    assert rule(parse(GOOD.replace(old, new, 1))) != []


def test_the_parser_joins_continuations_and_drops_comments_inside_them() -> None:
    parsed = parse("# syntax=docker/dockerfile:1\nrun a \\\n  # skipped\n\n  && b\nUSER orch\n")

    assert parsed == [Instruction("RUN", "a && b", 2), Instruction("USER", "orch", 6)]


def test_the_parser_refuses_a_continuation_that_never_ends() -> None:
    with pytest.raises(ValueError, match="continuation"):
        parse("RUN a \\\n")
