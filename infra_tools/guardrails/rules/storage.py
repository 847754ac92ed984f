"""S3 buckets and KMS keys: versioned, KMS-encrypted, private, TLS-only, logged, rotated."""

from __future__ import annotations

from collections.abc import Iterator

from infra_tools.graph import ResourceGraph, identifiers
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import as_list, mapping, truthy
from infra_tools.policy_documents import denies_plain_http, policy_document
from infra_tools.type_tokens import (
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_ENCRYPTION,
    S3_BUCKET_LOGGING,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_VERSIONING,
)

_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def access_log_buckets(stack: ResourceGraph) -> set[str]:
    """URNs of the buckets that receive S3 server access logs."""
    targets = {
        logging["inputs"].get("targetBucket") for logging in stack.of_type(S3_BUCKET_LOGGING)
    }
    return {bucket["urn"] for bucket in stack.of_type(S3_BUCKET) if identifiers(bucket) & targets}


def _versioning(stack: ResourceGraph) -> Iterator[Finding]:
    for bucket in stack.of_type(S3_BUCKET):
        configs = stack.attached(bucket, S3_BUCKET_VERSIONING, "bucket")
        enabled = any(
            mapping(config["inputs"].get("versioningConfiguration")).get("status") == "Enabled"
            for config in configs
        )
        if not enabled:
            yield Finding(
                bucket,
                f"{label(bucket)} is not versioned; add an aws.s3.BucketVersioning with "
                "versioning_configuration status 'Enabled' so overwritten models can be restored",
            )


def _encryption(stack: ResourceGraph) -> Iterator[Finding]:
    log_targets = access_log_buckets(stack)
    for bucket in stack.of_type(S3_BUCKET):
        algorithms = [
            mapping(rule.get("applyServerSideEncryptionByDefault")).get("sseAlgorithm")
            for config in stack.attached(bucket, S3_BUCKET_ENCRYPTION, "bucket")
            for rule in as_list(config["inputs"].get("rules"))
        ]
        # S3 server access logs can only be delivered to SSE-S3 buckets (AWS restriction).
        allowed = {"aws:kms", "aws:kms:dsse"}
        if bucket["urn"] in log_targets:
            allowed.add("AES256")
        if not any(algorithm in allowed for algorithm in algorithms):
            yield Finding(
                bucket,
                f"{label(bucket)} has no KMS default encryption; add an "
                "aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm 'aws:kms' "
                "and the stack's customer-managed key",
            )


def _public_access(stack: ResourceGraph) -> Iterator[Finding]:
    for bucket in stack.of_type(S3_BUCKET):
        blocks = stack.attached(bucket, S3_BUCKET_PUBLIC_ACCESS_BLOCK, "bucket")
        if not any(
            all(truthy(block["inputs"].get(flag)) for flag in _BLOCK_FLAGS) for block in blocks
        ):
            yield Finding(
                bucket,
                f"{label(bucket)} does not block public access; add an "
                f"aws.s3.BucketPublicAccessBlock with {', '.join(_BLOCK_FLAGS)} all true",
            )


def _tls_only(stack: ResourceGraph) -> Iterator[Finding]:
    for bucket in stack.of_type(S3_BUCKET):
        policies = stack.attached(bucket, S3_BUCKET_POLICY, "bucket")
        if not any(denies_plain_http(policy_document(p["inputs"].get("policy"))) for p in policies):
            yield Finding(
                bucket,
                f"{label(bucket)} accepts plain HTTP; attach an aws.s3.BucketPolicy that denies "
                "s3:* when aws:SecureTransport is false",
            )


def _access_logging(stack: ResourceGraph) -> Iterator[Finding]:
    if stack.environment() != "prod":
        return
    log_targets = access_log_buckets(stack)
    for bucket in stack.of_type(S3_BUCKET):
        if bucket["urn"] in log_targets:
            continue
        if not stack.attached(bucket, S3_BUCKET_LOGGING, "bucket"):
            yield Finding(
                bucket,
                f"{label(bucket)} has no server access logging in prod; add an "
                "aws.s3.BucketLogging to the stack's log bucket (modelStore.accessLogging: true)",
            )


def _kms_rotation(stack: ResourceGraph) -> Iterator[Finding]:
    for key in stack.of_type(KMS_KEY):
        if not truthy(key["inputs"].get("enableKeyRotation")):
            yield Finding(
                key,
                f"{label(key)} does not rotate; set enable_key_rotation=True on the aws.kms.Key",
            )


RULES = (
    Rule("s3-versioning", "Every S3 bucket is versioned.", "mandatory", _versioning),
    Rule(
        "s3-kms-encryption",
        "Every S3 bucket encrypts with KMS by default.",
        "mandatory",
        _encryption,
    ),
    Rule(
        "s3-public-access-blocked",
        "Every S3 bucket blocks all public access.",
        "mandatory",
        _public_access,
    ),
    Rule(
        "s3-tls-only", "Every S3 bucket policy denies requests without TLS.", "mandatory", _tls_only
    ),
    Rule(
        "s3-access-logging-prod",
        "Prod buckets write server access logs.",
        "mandatory",
        _access_logging,
    ),
    Rule(
        "kms-key-rotation", "Customer-managed KMS keys rotate yearly.", "mandatory", _kms_rotation
    ),
)
