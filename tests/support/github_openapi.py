"""Validate JSON against GitHub's published OpenAPI description (the subset kept beside the project).

OpenAPI 3.0 schemas use `nullable`, which JSON Schema lacks, so they are rewritten first and then
checked with draft 4 (whose boolean `exclusiveMinimum` matches OpenAPI 3.0).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

SUBSET = Path("shared") / "github" / "api.github.com.subset.json"
_DROP = {"nullable", "discriminator", "example", "examples", "readOnly", "writeOnly", "deprecated"}


def _find() -> Path | None:
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / SUBSET).is_file():
            return folder / SUBSET
    return None


@functools.cache
def document() -> dict[str, Any]:
    path = _find()
    if path is None:
        pytest.skip(f"GitHub's OpenAPI subset ({SUBSET}) is not beside this checkout")
    return json.loads(path.read_text(encoding="utf-8"))


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in _DROP and not k.startswith("x-")}
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _components() -> dict[str, Any]:
    return {"schemas": _convert(document()["components"]["schemas"])}


def _operation(operation_id: str) -> dict[str, Any]:
    for item in document()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/components/responses/"):
        return document()["components"]["responses"][ref.rsplit("/", 1)[1]]
    return node


def errors(schema: dict[str, Any], value: Any) -> list[str]:
    full = {**_convert(schema), "components": _components()}
    return [
        f"{'/'.join(map(str, e.path))}: {e.message}"
        for e in jsonschema.Draft4Validator(full).iter_errors(value)
    ]


def response_errors(operation_id: str, status: int, value: Any) -> list[str]:
    response = _resolve(_operation(operation_id)["responses"][str(status)])
    schema = response["content"]["application/json"]["schema"]
    return errors(schema, value)


def request_errors(operation_id: str, value: Any) -> list[str]:
    body = _operation(operation_id)["requestBody"]["content"]["application/json"]["schema"]
    return errors(body, value)
