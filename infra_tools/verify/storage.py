"""Model storage: each declared bucket's versioning, encryption, public-access block and
TLS-only policy, and each declared KMS key's rotation."""

from __future__ import annotations

import re
from typing import Any, cast

from infra_tools.verify.declared import (
    BUCKET,
    BUCKET_POLICY,
    ENCRYPTION,
    KMS_KEY,
    PUBLIC_ACCESS_BLOCK,
    VERSIONING,
    Declared,
    Resource,
    denies_insecure_transport,
    label,
    policy_document,
)
from infra_tools.verify.locate import Bindings, bound_output, describe_tags, has_tags
from infra_tools.verify.report import Mismatch, missing
from infra_tools.verify.target import Target, call_or_none, translated_errors

# Pulumi auto-naming: the logical name, a dash and seven random hex characters.
AUTO_SUFFIX = "-[0-9a-f]{7}"
_BLOCKS = (
    ("blockPublicAcls", "BlockPublicAcls"),
    ("ignorePublicAcls", "IgnorePublicAcls"),
    ("blockPublicPolicy", "BlockPublicPolicy"),
    ("restrictPublicBuckets", "RestrictPublicBuckets"),
)


def _name_pattern(resource: Resource) -> re.Pattern[str]:
    inputs = resource["inputs"]
    if inputs.get("bucket"):
        return re.compile(re.escape(str(inputs["bucket"])) + "$")
    if inputs.get("bucketPrefix"):
        return re.compile(re.escape(str(inputs["bucketPrefix"])) + ".*$")
    return re.compile(re.escape(str(resource["name"])) + AUTO_SUFFIX + "$")


def _bucket_tags(target: Target, name: str) -> dict[str, str]:
    s3 = target.s3()
    answer = call_or_none({"NoSuchTagSet"}, lambda: s3.get_bucket_tagging(Bucket=name))
    return {tag["Key"]: tag["Value"] for tag in (answer or {}).get("TagSet", [])}


def find_bucket(target: Target, declared: Declared, resource: Resource) -> str | Mismatch:
    """The physical bucket name, from --outputs or by auto-name pattern and stack tags."""
    named = bound_output(declared, target, resource)
    if named is not None:
        exists = call_or_none(
            {"404", "NoSuchBucket", "NotFound"}, lambda: target.s3().head_bucket(Bucket=named)
        )
        return named if exists is not None else missing(label(resource), f"no bucket {named}")
    pattern = _name_pattern(resource)
    names = [b.get("Name", "") for b in target.s3().list_buckets().get("Buckets", [])]
    found = [
        name
        for name in names
        if pattern.match(name) and has_tags(_bucket_tags(target, name), target.tags)
    ]
    if len(found) == 1:
        return found[0]
    where = f"bucket named like {pattern.pattern} tagged {describe_tags(target.tags)}"
    if not found:
        return missing(label(resource), f"no {where}")
    return Mismatch(
        label(resource),
        "exists",
        "one",
        f"{len(found)} ({', '.join(sorted(found))}); pass --outputs to pick the deployed one",
    )


def check_buckets(target: Target, declared: Declared, bindings: Bindings) -> list[Mismatch]:
    problems: list[Mismatch] = []
    with translated_errors(target, "s3"):
        for bucket in declared.of_type(BUCKET):
            found = find_bucket(target, declared, bucket)
            if isinstance(found, Mismatch):
                problems.append(found)
                continue
            bindings[bucket["urn"]] = found
            problems += _versioning(target, declared, bucket, found)
            problems += _encryption(target, declared, bucket, found, bindings)
            problems += _public_access(target, declared, bucket, found)
            problems += _tls_only(target, declared, bucket, found)
    return problems


def _versioning(target: Target, declared: Declared, bucket: Resource, name: str) -> list[Mismatch]:
    wanted = [
        str(cast(dict[str, Any], r["inputs"].get("versioningConfiguration") or {}).get("status"))
        for r in declared.dependents(bucket, VERSIONING)
    ]
    if not wanted:
        return []
    actual = target.s3().get_bucket_versioning(Bucket=name).get("Status", "never enabled")
    return [Mismatch(label(bucket), "versioning", wanted[0], actual)] if actual != wanted[0] else []


def _encryption(
    target: Target, declared: Declared, bucket: Resource, name: str, bindings: Bindings
) -> list[Mismatch]:
    problems: list[Mismatch] = []
    for config in declared.dependents(bucket, ENCRYPTION):
        rules = cast(list[dict[str, Any]], config["inputs"].get("rules") or [{}])
        default = cast(dict[str, Any], rules[0].get("applyServerSideEncryptionByDefault") or {})
        answer = call_or_none(
            {"ServerSideEncryptionConfigurationNotFoundError"},
            lambda: target.s3().get_bucket_encryption(Bucket=name),
        )
        actual_rules = (answer or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        actual = (
            actual_rules[0].get("ApplyServerSideEncryptionByDefault", {}) if actual_rules else {}
        )
        algorithm = actual.get("SSEAlgorithm", "none")
        if default.get("sseAlgorithm") and default["sseAlgorithm"] != algorithm:
            problems.append(
                Mismatch(label(bucket), "encryption", str(default["sseAlgorithm"]), algorithm)
            )
            continue
        key = declared.dependency(config, KMS_KEY)
        actual_key = actual.get("KMSMasterKeyID")
        if key is not None and actual_key:
            # The bucket's own encryption settings say which physical key is the declared one.
            arn = _key_arn(target, actual_key)
            bound = bindings.setdefault(key["urn"], arn)
            if bound != arn:
                problems.append(Mismatch(label(bucket), "encryption key", bound, arn))
        elif key is not None:
            problems.append(Mismatch(label(bucket), "encryption key", label(key), "none"))
    return problems


def _key_arn(target: Target, key_id: str) -> str:
    with translated_errors(target, "kms"):
        found = call_or_none({"NotFoundException"}, lambda: target.kms().describe_key(KeyId=key_id))
    return found["KeyMetadata"].get("Arn", key_id) if found else key_id


def _public_access(
    target: Target, declared: Declared, bucket: Resource, name: str
) -> list[Mismatch]:
    blocks = declared.dependents(bucket, PUBLIC_ACCESS_BLOCK)
    if not blocks:
        return []
    answer = call_or_none(
        {"NoSuchPublicAccessBlockConfiguration"},
        lambda: target.s3().get_public_access_block(Bucket=name),
    )
    actual = cast(dict[str, Any], (answer or {}).get("PublicAccessBlockConfiguration", {}))
    problems: list[Mismatch] = []
    for declared_key, actual_key in _BLOCKS:
        wanted = bool(blocks[0]["inputs"].get(declared_key, False))
        has = bool(actual.get(actual_key, False))
        if wanted != has:
            problems.append(
                Mismatch(label(bucket), f"public access {declared_key}", str(wanted), str(has))
            )
    return problems


def _tls_only(target: Target, declared: Declared, bucket: Resource, name: str) -> list[Mismatch]:
    wanted = any(
        denies_insecure_transport(policy_document(policy["inputs"].get("policy")))
        for policy in declared.dependents(bucket, BUCKET_POLICY)
    )
    if not wanted:
        return []
    answer = call_or_none(
        {"NoSuchBucketPolicy"}, lambda: target.s3().get_bucket_policy(Bucket=name)
    )
    document = policy_document((answer or {}).get("Policy", ""))
    if denies_insecure_transport(document):
        return []
    actual = "a policy without that statement" if answer else "no bucket policy"
    return [Mismatch(label(bucket), "policy", "deny requests without TLS", actual)]


def check_keys(target: Target, declared: Declared, bindings: Bindings) -> list[Mismatch]:
    problems: list[Mismatch] = []
    with translated_errors(target, "kms"):
        kms = target.kms()
        for key in declared.of_type(KMS_KEY):
            arn = bindings.get(key["urn"]) or _find_key(target, key)
            if isinstance(arn, Mismatch):
                problems.append(arn)
                continue
            bindings[key["urn"]] = arn
            state = kms.describe_key(KeyId=arn)["KeyMetadata"].get("KeyState", "Unknown")
            if state != "Enabled":
                problems.append(Mismatch(label(key), "state", "Enabled", state))
                continue
            wanted = bool(key["inputs"].get("enableKeyRotation", False))
            rotates = kms.get_key_rotation_status(KeyId=arn).get("KeyRotationEnabled", False)
            if wanted != rotates:
                problems.append(Mismatch(label(key), "rotation", str(wanted), str(rotates)))
    return problems


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
