"""RDS: encrypted with a customer key, never public, a password nobody typed, resilient in prod."""

from __future__ import annotations

from collections.abc import Iterator

from infra_tools.graph import ResourceGraph
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import truthy
from infra_tools.type_tokens import RDS_INSTANCE

PROD_MIN_BACKUP_DAYS = 7


def _encrypted(stack: ResourceGraph) -> Iterator[Finding]:
    for db in stack.of_type(RDS_INSTANCE):
        inputs = db["inputs"]
        key = str(inputs.get("kmsKeyId") or "")
        # Without kms_key_id RDS uses its AWS-managed key (alias/aws/rds): no key policy of
        # ours, no rotation or deletion control, and snapshots cannot be shared.
        if not truthy(inputs.get("storageEncrypted")) or not key or key.endswith("alias/aws/rds"):
            yield Finding(
                db,
                f"{label(db)} is not encrypted with a customer-managed key; set "
                "storage_encrypted=True and kms_key_id to the stack's KMS key",
            )


def _private(stack: ResourceGraph) -> Iterator[Finding]:
    for db in stack.of_type(RDS_INSTANCE):
        if truthy(db["inputs"].get("publiclyAccessible")):
            yield Finding(
                db,
                f"{label(db)} is publicly accessible; set publicly_accessible=False (clients "
                "reach it from inside the VPC)",
            )


def _managed_password(stack: ResourceGraph) -> Iterator[Finding]:
    for db in stack.of_type(RDS_INSTANCE):
        inputs = db["inputs"]
        typed = [key for key in ("password", "passwordWo") if inputs.get(key)]
        if typed or not truthy(inputs.get("manageMasterUserPassword")):
            given = f" ({typed[0]})" if typed else ""
            yield Finding(
                db,
                f"{label(db)} takes its master password as an input{given}; remove it and set "
                "manage_master_user_password=True so RDS keeps and rotates it in Secrets Manager",
            )


def _prod_resilience(stack: ResourceGraph) -> Iterator[Finding]:
    if stack.environment() != "prod":
        return
    for db in stack.of_type(RDS_INSTANCE):
        inputs = db["inputs"]
        missing: list[str] = []
        if not truthy(inputs.get("multiAz")):
            missing.append("multi_az=True")
        if not truthy(inputs.get("deletionProtection")):
            missing.append("deletion_protection=True")
        if int(inputs.get("backupRetentionPeriod") or 0) < PROD_MIN_BACKUP_DAYS:
            missing.append(f"backup_retention_period>={PROD_MIN_BACKUP_DAYS}")
        if truthy(inputs.get("skipFinalSnapshot")):
            missing.append("skip_final_snapshot=False")
        if missing:
            yield Finding(
                db,
                f"{label(db)} is not resilient enough for prod; set {', '.join(missing)} "
                "(tracking.database in the stack file)",
            )


RULES = (
    Rule(
        "rds-customer-key-encryption",
        "RDS storage is encrypted with the stack's customer-managed KMS key.",
        "mandatory",
        _encrypted,
    ),
    Rule("rds-not-public", "RDS instances are not publicly accessible.", "mandatory", _private),
    Rule(
        "rds-managed-password",
        "RDS master passwords are generated and rotated by RDS, never an input.",
        "mandatory",
        _managed_password,
    ),
    Rule(
        "rds-prod-resilience",
        "Prod databases are Multi-AZ, deletion-protected, backed up a week, snapshotted last.",
        "mandatory",
        _prod_resilience,
    ),
)
