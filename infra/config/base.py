"""Shared base for every stack-config model: camelCase keys, no unknown keys, immutable."""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, ValidationInfo
from pydantic.alias_generators import to_camel

Environment = Literal["dev", "prod", "local"]


class ConfigModel(BaseModel):
    """Stack files use camelCase keys (`azCount`); Python code uses snake_case (`az_count`).

    `extra="forbid"` makes a misspelled key fail at once instead of silently taking the default.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        # The one-line docstring under each field is its description, so the config
        # reference is generated from the code and cannot drift from it.
        use_attribute_docstrings=True,
    )


def environment_of(info: ValidationInfo) -> Environment:
    """The environment the config is validated for (passed as validation context by the loader)."""
    context = cast(dict[str, Any], info.context or {})
    environment: Environment = context.get("environment", "prod")
    return environment
