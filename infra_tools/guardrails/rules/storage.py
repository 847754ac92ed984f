"""S3 buckets and KMS keys: versioned, KMS-encrypted, private, TLS-only, logged, rotated."""

from __future__ import annotations

from collections.abc import Iterator

from infra_tools.guardrails.rules.base import (
    Finding,
    Resource,
    Rule,
    StackView,
    as_list,
    identifiers,
    label,
    mapping,
    policy_document,
    statements,
    truthy,
)

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
KMS_KEY = "aws:kms/key:Key"
_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _log_targets(stack: StackView) -> set[str]:
    """URNs of the buckets that receive S3 server access logs."""
    targets = {logging["inputs"].get("targetBucket") for logging in stack.of_type(LOGGING)}
    return {bucket["urn"] for bucket in stack.of_type(BUCKET) if identifiers(bucket) & targets}


def _versioning(stack: StackView) -> Iterator[Finding]:
    for bucket in stack.of_type(BUCKET):
        configs = stack.attached(bucket, VERSIONING, "bucket")
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


def _encryption(stack: StackView) -> Iterator[Finding]:
    log_targets = _log_targets(stack)
    for bucket in stack.of_type(BUCKET):
        algorithms = [
            mapping(rule.get("applyServerSideEncryptionByDefault")).get("sseAlgorithm")
            for config in stack.attached(bucket, ENCRYPTION, "bucket")
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


def _public_access(stack: StackView) -> Iterator[Finding]:
    for bucket in stack.of_type(BUCKET):
        blocks = stack.attached(bucket, PUBLIC_ACCESS_BLOCK, "bucket")
        if not any(
            all(truthy(block["inputs"].get(flag)) for flag in _BLOCK_FLAGS) for block in blocks
        ):
            yield Finding(
                bucket,
                f"{label(bucket)} does not block public access; add an "
                f"aws.s3.BucketPublicAccessBlock with {', '.join(_BLOCK_FLAGS)} all true",
            )


def _denies_plain_http(policy: Resource) -> bool:
    for statement in statements(policy_document(policy["inputs"].get("policy"))):
        condition = mapping(statement.get("Condition"))
        secure = mapping(condition.get("Bool")).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


def _tls_only(stack: StackView) -> Iterator[Finding]:
    for bucket in stack.of_type(BUCKET):
        policies = stack.attached(bucket, BUCKET_POLICY, "bucket")
        if not any(_denies_plain_http(policy) for policy in policies):
            yield Finding(
                bucket,
                f"{label(bucket)} accepts plain HTTP; attach an aws.s3.BucketPolicy that denies "
                "s3:* when aws:SecureTransport is false",
            )


def _access_logging(stack: StackView) -> Iterator[Finding]:
    if stack.environment() != "prod":
        return
    log_targets = _log_targets(stack)
    for bucket in stack.of_type(BUCKET):
        if bucket["urn"] in log_targets:
            continue
        if not stack.attached(bucket, LOGGING, "bucket"):
            yield Finding(
                bucket,
                f"{label(bucket)} has no server access logging in prod; add an "
                "aws.s3.BucketLogging to the stack's log bucket (modelStore.accessLogging: true)",
            )


def _kms_rotation(stack: StackView) -> Iterator[Finding]:
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
