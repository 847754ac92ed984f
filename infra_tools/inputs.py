"""Reading a resource's inputs, which may be absent, of an unexpected shape, or unknown (a
value the engine computes during a preview): each reader answers a safe empty value instead."""

from __future__ import annotations

import json
from typing import Any, cast


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else empty (absent or unknown during a preview)."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` as a list: absent is empty, a single item is a list of one."""
    if value is None:
        return []
    return cast(list[Any], value) if isinstance(value, list) else [value]


def truthy(value: Any) -> bool:
    """pulumi-aws passes some booleans as strings ("true"), e.g. launch template EBS flags."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def decoded_setting(value: Any) -> Any:
    """A provider setting as data: the engine hands nested ones over as JSON text."""
    if isinstance(value, str) and (value[:1] in ("{", "[") or value in ("true", "false")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
