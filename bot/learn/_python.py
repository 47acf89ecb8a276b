"""Python tooling: ruff, black, isort, flake8 and mypy settings, and how pytest is configured."""

from __future__ import annotations

import configparser
from typing import Any

from bot.learn import _toml
from bot.learn.files import Asset, Source, words

TOPIC = "python-style"


def _header(origin: str) -> str:
    return f"Harvested by orch learn from {origin}."


def harvest_python(src: Source) -> None:
    pyproject = src.toml("pyproject.toml") or {}
    found = pyproject.get("tool")
    tool: dict[str, Any] = found if isinstance(found, dict) else {}
    _ruff(src, tool.get("ruff"))
    _wrapped(src, tool, "black", "formatter", "adapters/formatters/black.toml", _black_facts)
    _wrapped(src, tool, "isort", "formatter", "adapters/formatters/isort.toml", _isort_facts)
    _wrapped(src, tool, "mypy", "typecheck", "adapters/linters/mypy.toml", _mypy_facts)
    _flake8(src)
    pytest_opts = (
        (tool.get("pytest") or {}).get("ini_options") if isinstance(tool.get("pytest"), dict) else None
    )
    if isinstance(pytest_opts, dict):
        if pytest_opts.get("testpaths"):
            src.harvest.fact("tests", f"pytest collects tests from {words(pytest_opts['testpaths'])}.")
        if pytest_opts.get("addopts"):
            src.harvest.fact("tests", f"pytest runs with `{words(pytest_opts['addopts'])}`.")
        if pytest_opts.get("markers"):
            names = [str(m).split(":")[0].strip() for m in pytest_opts["markers"]]
            src.harvest.fact("tests", f"pytest markers in use: {words(names)}.")


def _ruff(src: Source, section: Any) -> None:
    # Ruff's own precedence: .ruff.toml, then ruff.toml, then [tool.ruff] in pyproject.toml.
    for name in (".ruff.toml", "ruff.toml"):
        text = src.text(name)
        if text is not None:
            src.harvest.add(Asset("adapters/linters/ruff.toml", text, "linter", "ruff", name))
            _ruff_facts(src, src.toml(name) or {}, name)
            return
    if isinstance(section, dict):
        origin = "pyproject.toml [tool.ruff]"
        content = _toml.dumps(section, header=_header(origin))
        src.harvest.add(Asset("adapters/linters/ruff.toml", content, "linter", "ruff", origin))
        _ruff_facts(src, section, origin)


def _ruff_facts(src: Source, cfg: dict[str, Any], origin: str) -> None:
    found = cfg.get("lint")
    lint: dict[str, Any] = found if isinstance(found, dict) else {}
    parts = []
    if "line-length" in cfg:
        parts.append(f"line length {cfg['line-length']}")
    if "target-version" in cfg:
        parts.append(f"target {cfg['target-version']}")
    select = lint.get("select", cfg.get("select"))
    if select:
        parts.append(f"rules {words(select)}")
    ignore = lint.get("ignore", cfg.get("ignore"))
    if ignore:
        parts.append(f"ignored {words(ignore)}")
    detail = f" ({'; '.join(parts)})" if parts else ""
    src.harvest.fact(
        TOPIC, f"Lint with ruff{detail}, settings in `adapters/linters/ruff.toml` (from {origin})."
    )
    fmt = cfg.get("format")
    if isinstance(fmt, dict) and fmt:
        style = ", ".join(f"{k} {v}" for k, v in fmt.items())
        src.harvest.fact(TOPIC, f"Format with `ruff format` ({style}).")


def _wrapped(src: Source, tool: dict[str, Any], name: str, kind: str, target: str, facts: Any) -> None:
    section = tool.get(name)
    if not isinstance(section, dict):
        return
    origin = f"pyproject.toml [tool.{name}]"
    # Kept inside [tool.<name>], the form these tools read from an explicit config file.
    content = _toml.dumps({"tool": {name: section}}, header=_header(origin))
    src.harvest.add(Asset(target, content, kind, name, origin))
    facts(src, section, target)


def _black_facts(src: Source, cfg: dict[str, Any], target: str) -> None:
    extra = f", line length {cfg['line-length']}" if "line-length" in cfg else ""
    src.harvest.fact(TOPIC, f"Format with black{extra}, settings in `{target}`.")


def _isort_facts(src: Source, cfg: dict[str, Any], target: str) -> None:
    profile = f" (profile {cfg['profile']})" if "profile" in cfg else ""
    src.harvest.fact(TOPIC, f"Sort imports with isort{profile}, settings in `{target}`.")


def _mypy_facts(src: Source, cfg: dict[str, Any], target: str) -> None:
    strict = " in strict mode" if cfg.get("strict") else ""
    src.harvest.fact(TOPIC, f"Type-check with mypy{strict}, settings in `{target}`.")


def _flake8(src: Source) -> None:
    for name, section in ((".flake8", "flake8"), ("setup.cfg", "flake8"), ("tox.ini", "flake8")):
        text = src.text(name)
        if text is None:
            continue
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            src.harvest.notes.append(f"{name}: not a readable INI file ({str(exc).splitlines()[0]})")
            continue
        if not parser.has_section(section):
            continue
        options = {k: v for k, v in parser.items(section, raw=True)}
        body = "\n".join(f"{k} = {v}" for k, v in options.items())
        origin = f"{name} [{section}]"
        content = f"# {_header(origin)}\n\n[flake8]\n{body}\n"
        src.harvest.add(Asset("adapters/linters/flake8.ini", content, "linter", "flake8", origin))
        limit = options.get("max-line-length")
        src.harvest.fact(
            TOPIC,
            "Lint with flake8"
            + (f" (max line length {limit})" if limit else "")
            + ", settings in `adapters/linters/flake8.ini`.",
        )
        return
