"""The app's own settings classes, as judges of the values the platform hands its pods.

The pods read those values as `MLOPS_*` variables and refuse to start on one their settings
class rejects. Judged here, with the same classes: the config loader rejects a stack file
value (naming its key) before anything is declared, and the workloads refuse a constant of
their own at synth, instead of pods that crash-loop after a deploy. Imports no Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource


def env_name(settings: type[BaseSettings], field: str) -> str:
    """`MLOPS_MODEL_NAME` for `model_name`; ValueError if the class has no such field."""
    if field not in settings.model_fields:
        raise ValueError(
            f"{settings.__name__} has no field {field!r}; the container env may only carry "
            f"the app's settings ({', '.join(sorted(settings.model_fields))})"
        )
    prefix = str(settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


@dataclass(frozen=True)
class Refusal:
    """One value the app would refuse at start."""

    variable: str
    value: object
    rule: str
    """The app's own message, e.g. "Input should be greater than or equal to 128"."""
    fix: str
    """What to set instead, from the rule: the pattern, the bound or the app's default."""

    def __str__(self) -> str:
        return f"{self.variable}={self.value}: {self.rule}"


def _given_values_only(settings: type[BaseSettings]) -> type[BaseSettings]:
    """The settings class reading nothing but the values passed to it (no environment)."""

    def sources(
        cls: type[BaseSettings],
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **_others: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    customised = {"settings_customise_sources": classmethod(sources)}
    return type(settings.__name__, (settings,), customised)


def _fix(error: Mapping[str, Any], default: object, unit: str) -> str:
    context: Mapping[str, Any] = error.get("ctx") or {}
    if "pattern" in context:
        return f"use a value matching {context['pattern']}, e.g. {json.dumps(default)}"
    if "ge" in context:
        return f"use at least {context['ge']}{unit}"
    if "le" in context:
        return f"use at most {context['le']}{unit}"
    return f"use a value the app accepts, e.g. {json.dumps(default)}"


def refusals(
    settings: type[BaseSettings], values: Mapping[str, object], *, unit: str = ""
) -> list[Refusal]:
    """The values of `values` the app would refuse (fields not given take their defaults);
    `unit` follows the bounds in the fix, e.g. "Mi"."""
    for field in values:
        env_name(settings, field)
    try:
        _given_values_only(settings).model_validate(dict(values))
    except ValidationError as exc:
        found: list[Refusal] = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            if field in values:
                default = settings.model_fields[field].default
                rule, fix = error["msg"], _fix(error, default, unit)
                found.append(Refusal(env_name(settings, field), values[field], rule, fix))
        return found
    return []
