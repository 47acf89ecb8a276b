"""An output schema whose validation errors say what was wrong with the model's answer.

The SDK redacts model data from its errors by default, which also hides *why* an answer was
refused. A person reading the goal's thread needs the reason (a dependency cycle, an unsafe
path), so this schema reports each failing field and message, never the submitted values.
Imports `agents` at module level; only `sdk.AgentsDrafter.draft` imports it.
"""

from __future__ import annotations

from typing import Any

from agents import AgentOutputSchema, ModelBehaviorError
from pydantic import BaseModel, ValidationError


def validation_reason(kind: type[BaseModel], json_str: str) -> str:
    """Field and message of each error `kind` finds in `json_str`; empty when it is valid."""
    try:
        kind.model_validate_json(json_str)
    except ValidationError as err:
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}"
            for e in err.errors(include_input=False, include_url=False)
        )
    return ""


class ExplainingOutputSchema(AgentOutputSchema):
    def validate_json(self, json_str: str) -> Any:
        try:
            return super().validate_json(json_str)
        except ModelBehaviorError:
            reason = validation_reason(self.output_type, json_str)
            if not reason:
                raise
        raise ModelBehaviorError(f"invalid {self.name()}: {reason}")
