"""The stack-config reference table (docs/config-reference.md), generated from the config models."""

from __future__ import annotations

import json
import types
from typing import Any, Union, cast, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from infra.config.loader import PROJECT
from infra.config.model import StackConfig
from infra.config.secrets import SECRETS


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        models = [arg for arg in get_args(annotation) if _nested_model(arg)]
        return _nested_model(models[0]) if len(models) == 1 else None
    return None


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value: Any = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list):
        # A list of entries (app.models): each entry's keys that differ from their defaults.
        entries = cast(list[object], value)
        shown = [
            entry.model_dump(by_alias=True, exclude_defaults=True)
            if isinstance(entry, BaseModel)
            else entry
            for entry in entries
        ]
        return f"`{json.dumps(shown)}`"
    return f"`{json.dumps(value)}`"


def _entry_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a list's entries (`list[ModelConfig]`), documented as `key[].field`."""
    if get_origin(annotation) is list:
        (entry,) = get_args(annotation)
        return _nested_model(entry)
    return None


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        nested = _nested_model(field.annotation)
        rows.append((key, _default(field), (field.description or "").replace("|", "\\|")))
        if nested is not None:
            rows.extend(_rows(nested, f"{key}."))
        entry = _entry_model(field.annotation)
        if entry is not None:
            rows.extend(_rows(entry, f"{key}[]."))
    return rows


def reference_markdown() -> str:
    """A markdown table of every stack-config key: key, default, meaning."""
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    for key, default, meaning in _rows(StackConfig, ""):
        namespace = "aws" if key.startswith("aws.") else PROJECT
        shown = key.removeprefix("aws.") if namespace == "aws" else key
        if shown == "aws":
            continue
        lines.append(f"| `{namespace}:{shown}` | {default} | {meaning} |")
    for spec in SECRETS:
        lines.append(
            f"| `{PROJECT}:{spec.key}` | secret | {spec.purpose}; set with "
            f"`pulumi config set --secret` |"
        )
    return "\n".join(lines)
