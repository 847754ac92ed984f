"""KMS: each declared key exists, is enabled, and rotates as declared."""

from __future__ import annotations

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.state import output, physical_id
from infra_tools.type_tokens import KMS_KEY
from infra_tools.verify.locate import Bindings, deployed, describe_tags, has_tags
from infra_tools.verify.report import Mismatch, label, missing
from infra_tools.verify.target import Target, call_or_none, translated_errors


def key_arn(target: Target, key_id: str) -> str:
    """The ARN of a key named by id, alias or ARN (itself when KMS does not know it)."""
    with translated_errors(target, "kms"):
        found = call_or_none({"NotFoundException"}, lambda: target.kms().describe_key(KeyId=key_id))
    return found["KeyMetadata"].get("Arn", key_id) if found else key_id


def declared_key_arn(target: Target, key: Resource) -> str | None:
    """The ARN the stack's state records for `key`; None without a state or a record."""
    found = deployed(target, key)
    if found is None or isinstance(found, Mismatch):
        return None
    return output(found, "arn") or key_arn(target, physical_id(found) or "")


def check_keys(target: Target, declared: ResourceGraph, bindings: Bindings) -> list[Mismatch]:
    problems: list[Mismatch] = []
    with translated_errors(target, "kms"):
        for key in declared.of_type(KMS_KEY):
            arn = _locate_key(target, key, bindings)
            if isinstance(arn, Mismatch):
                problems.append(arn)
                continue
            bindings[key["urn"]] = arn
            problems += _key_settings(target, key, arn)
    return problems


def _key_settings(target: Target, key: Resource, arn: str) -> list[Mismatch]:
    kms = target.kms()
    found = call_or_none({"NotFoundException"}, lambda: kms.describe_key(KeyId=arn))
    if found is None:
        return [missing(label(key), f"no key {arn}")]
    state = found["KeyMetadata"].get("KeyState", "Unknown")
    if state != "Enabled":
        return [Mismatch(label(key), "state", "Enabled", state)]
    wanted = bool(key["inputs"].get("enableKeyRotation", False))
    rotates = kms.get_key_rotation_status(KeyId=arn).get("KeyRotationEnabled", False)
    return (
        [Mismatch(label(key), "rotation", str(wanted), str(rotates))] if wanted != rotates else []
    )


def _locate_key(target: Target, key: Resource, bindings: Bindings) -> str | Mismatch:
    found = deployed(target, key)
    if isinstance(found, Mismatch):
        return found
    if found is not None:
        return output(found, "arn") or physical_id(found) or ""
    return bindings.get(key["urn"]) or _find_key(target, key)


def _find_key(target: Target, key: Resource) -> str | Mismatch:
    """KMS keys have no name: find the stack's by its tags (and description, when declared)."""
    kms = target.kms()
    description = key["inputs"].get("description")
    found: list[str] = []
    for page in kms.get_paginator("list_keys").paginate():
        for entry in page.get("Keys", []):
            key_id = entry.get("KeyId", "")
            tags = kms.list_resource_tags(KeyId=key_id).get("Tags", [])
            if not has_tags({t["TagKey"]: t["TagValue"] for t in tags}, target.tags):
                continue
            metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            if metadata.get("KeyState") == "PendingDeletion":
                continue
            if description is None or metadata.get("Description") == description:
                found.append(metadata.get("Arn", key_id))
    if len(found) == 1:
        return found[0]
    if not found:
        return missing(label(key), f"no key tagged {describe_tags(target.tags)}")
    return Mismatch(label(key), "exists", "one", f"{len(found)} keys with the stack's tags")
