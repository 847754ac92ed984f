"""IAM and S3 policy documents, parsed in one place for the rules, the diagram and verify.

A document reaches the tools as JSON text (how the program declares it, and how S3 returns a
bucket policy) or as an object; during a preview it may be unknown.
"""

from __future__ import annotations

import json
from typing import Any, cast

from infra_tools.inputs import as_list, mapping


def policy_document(value: Any) -> dict[str, Any] | None:
    """A policy as a dict; None when it is not one (absent, unknown, or not JSON)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return cast(dict[str, Any], value) if isinstance(value, dict) else None


def statements(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The document's statements; a single statement object counts as a list of one."""
    if document is None:
        return []
    return [mapping(item) for item in as_list(document.get("Statement")) if isinstance(item, dict)]


def allows(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The statements that allow (Effect defaults to Allow)."""
    return [s for s in statements(document) if s.get("Effect", "Allow") == "Allow"]


def denies_plain_http(document: dict[str, Any] | None) -> bool:
    """True when a statement denies every request made without TLS."""
    for statement in statements(document):
        secure = mapping(mapping(statement.get("Condition")).get("Bool")).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False
