"""Model storage: each declared bucket's versioning, encryption (and the key it names),
public-access block and TLS-only policy."""

from __future__ import annotations

import re
from typing import Any, cast

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.policy_documents import denies_plain_http, policy_document
from infra_tools.type_tokens import (
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_ENCRYPTION,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_VERSIONING,
)
from infra_tools.verify.keys import declared_key_arn, key_arn
from infra_tools.verify.locate import Bindings, describe_tags, has_tags, named
from infra_tools.verify.report import Mismatch, label, missing
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


def find_bucket(target: Target, declared: ResourceGraph, resource: Resource) -> str | Mismatch:
    """The physical bucket name: from the state or --outputs, else by auto-name pattern and
    stack tags."""
    name = named(declared, target, resource)
    if isinstance(name, Mismatch):
        return name
    if name is not None:
        exists = call_or_none(
            {"404", "NoSuchBucket", "NotFound"}, lambda: target.s3().head_bucket(Bucket=name)
        )
        return name if exists is not None else missing(label(resource), f"no bucket {name}")
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
        f"{len(found)} ({', '.join(sorted(found))}); pass --state to pick the deployed one",
    )


def check_buckets(target: Target, declared: ResourceGraph, bindings: Bindings) -> list[Mismatch]:
    problems: list[Mismatch] = []
    with translated_errors(target, "s3"):
        for bucket in declared.of_type(S3_BUCKET):
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


def _versioning(
    target: Target, declared: ResourceGraph, bucket: Resource, name: str
) -> list[Mismatch]:
    wanted = [
        str(cast(dict[str, Any], r["inputs"].get("versioningConfiguration") or {}).get("status"))
        for r in declared.dependents(bucket, S3_BUCKET_VERSIONING)
    ]
    if not wanted:
        return []
    actual = target.s3().get_bucket_versioning(Bucket=name).get("Status", "never enabled")
    return [Mismatch(label(bucket), "versioning", wanted[0], actual)] if actual != wanted[0] else []


def _encryption(
    target: Target, declared: ResourceGraph, bucket: Resource, name: str, bindings: Bindings
) -> list[Mismatch]:
    problems: list[Mismatch] = []
    for config in declared.dependents(bucket, S3_BUCKET_ENCRYPTION):
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
            # The state names the declared key; without one, the bucket's own encryption
            # settings say which physical key is the declared one.
            arn = key_arn(target, actual_key)
            bound = bindings.setdefault(key["urn"], declared_key_arn(target, key) or arn)
            if bound != arn:
                problems.append(Mismatch(label(bucket), "encryption key", bound, arn))
        elif key is not None:
            problems.append(Mismatch(label(bucket), "encryption key", label(key), "none"))
    return problems


def _public_access(
    target: Target, declared: ResourceGraph, bucket: Resource, name: str
) -> list[Mismatch]:
    blocks = declared.dependents(bucket, S3_BUCKET_PUBLIC_ACCESS_BLOCK)
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


def _tls_only(
    target: Target, declared: ResourceGraph, bucket: Resource, name: str
) -> list[Mismatch]:
    wanted = any(
        denies_plain_http(policy_document(policy["inputs"].get("policy")))
        for policy in declared.dependents(bucket, S3_BUCKET_POLICY)
    )
    if not wanted:
        return []
    answer = call_or_none(
        {"NoSuchBucketPolicy"}, lambda: target.s3().get_bucket_policy(Bucket=name)
    )
    if denies_plain_http(policy_document((answer or {}).get("Policy", ""))):
        return []
    actual = "a policy without that statement" if answer else "no bucket policy"
    return [Mismatch(label(bucket), "policy", "deny requests without TLS", actual)]
