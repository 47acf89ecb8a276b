"""JavaScript tooling: eslint and prettier settings, and the scripts in package.json."""

from __future__ import annotations

import json
from typing import Any

import yaml

from bot.learn.files import Asset, Source

TOPIC = "javascript-style"
ESLINT_FILES = (
    "eslint.config.js",
    "eslint.config.mjs",
    "eslint.config.cjs",
    "eslint.config.ts",
    ".eslintrc.js",
    ".eslintrc.cjs",
    ".eslintrc.json",
    ".eslintrc.yaml",
    ".eslintrc.yml",
    ".eslintrc",
)
PRETTIER_FILES = (
    ".prettierrc",
    ".prettierrc.json",
    ".prettierrc.json5",
    ".prettierrc.yaml",
    ".prettierrc.yml",
    ".prettierrc.toml",
    ".prettierrc.js",
    ".prettierrc.cjs",
    ".prettierrc.mjs",
    "prettier.config.js",
    "prettier.config.cjs",
    "prettier.config.mjs",
)
SCRIPTS = ("test", "lint", "format", "typecheck", "build")


def _target(folder: str, name: str) -> str:
    # Dropping the leading dot keeps the copies visible and inert: tools only read them when told to.
    return f"adapters/{folder}/{name.lstrip('.')}"


def harvest_frontend(src: Source) -> dict[str, str]:
    """Harvest eslint/prettier; return package.json scripts worth knowing (name → command)."""
    loaded = src.json("package.json") if src.exists("package.json") else None
    package: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
    _copy_first(src, ESLINT_FILES, "linters", "linter", "eslint")
    _copy_first(src, PRETTIER_FILES, "formatters", "formatter", "prettier")
    for key, folder, kind, tool, name in (
        ("eslintConfig", "linters", "linter", "eslint", "eslintrc.json"),
        ("prettier", "formatters", "formatter", "prettier", "prettierrc.json"),
    ):
        value = package.get(key)
        if isinstance(value, dict) and not any(a.tool == tool for a in src.harvest.assets):
            text = json.dumps(value, indent=2, sort_keys=True) + "\n"
            src.harvest.add(Asset(f"adapters/{folder}/{name}", text, kind, tool, f"package.json {key}"))
            _facts(src, tool, value, f"adapters/{folder}/{name}")
    listed = package.get("scripts")
    scripts: dict[str, Any] = listed if isinstance(listed, dict) else {}
    found = {k: str(scripts[k]) for k in SCRIPTS if isinstance(scripts.get(k), str) and scripts[k].strip()}
    for name, command in found.items():
        src.harvest.fact(TOPIC, f"`npm run {name}` runs `{command}`.")
    return found


def _copy_first(src: Source, names: tuple[str, ...], folder: str, kind: str, tool: str) -> None:
    for name in names:
        text = src.text(name)
        if text is None:
            continue
        target = _target(folder, name)
        src.harvest.add(Asset(target, text, kind, tool, name))
        _facts(src, tool, _parse(name, text), target)
        return


def _parse(name: str, text: str) -> Any:
    """Settings as data when the file is data (JSON or YAML); None for JavaScript configs."""
    if name.endswith((".js", ".cjs", ".mjs", ".ts", ".json5", ".toml")):
        return None
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON, so this reads both
    except yaml.YAMLError:
        return None


def _facts(src: Source, tool: str, data: Any, target: str) -> None:
    if tool == "prettier":
        detail = ""
        if isinstance(data, dict):
            keys = ("printWidth", "tabWidth", "semi", "singleQuote", "trailingComma")
            detail = " (" + ", ".join(f"{k} {data[k]}" for k in keys if k in data) + ")"
            detail = "" if detail == " ()" else detail
        src.harvest.fact(TOPIC, f"Format with prettier{detail}, settings in `{target}`.")
    else:
        extends = data.get("extends") if isinstance(data, dict) else None
        if isinstance(extends, list):
            extends = ", ".join(str(e) for e in extends)
        detail = f" (extends {extends})" if extends else ""
        src.harvest.fact(TOPIC, f"Lint with eslint{detail}, settings in `{target}`.")
