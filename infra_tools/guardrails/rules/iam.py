"""IAM: no wildcard actions, no wildcard resources on data (S3, KMS, secrets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import as_list
from infra_tools.policy_documents import allows, policy_document
from infra_tools.type_tokens import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER_POLICY,
)

# Types carrying identity policies in their `policy` input.
POLICY_TYPES = (IAM_POLICY, IAM_ROLE_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY)
# AWS-managed policies that grant `*` on everything or nearly so.
BROAD_MANAGED = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AmazonS3FullAccess")
DATA_PREFIXES = (
    "s3:",
    "kms:",
    "secretsmanager:",
    "ssm:getparameter",
    "dynamodb:",
)
WILDCARD_DATA_RESOURCES = ("*", "arn:aws:s3:::*", "arn:aws:s3:::*/*")


def _documents(stack: ResourceGraph) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for resource in stack.of_type(*POLICY_TYPES):
        document = policy_document(resource["inputs"].get("policy"))
        if document is not None:
            yield resource, document
    for role in stack.of_type(IAM_ROLE):
        for inline in as_list(role["inputs"].get("inlinePolicies")):
            document = policy_document(inline.get("policy"))
            if document is not None:
                yield role, document


def _wildcard_actions(stack: ResourceGraph) -> Iterator[Finding]:
    for resource, document in _documents(stack):
        for statement in allows(document):
            actions = [str(action) for action in as_list(statement.get("Action"))]
            broad = [action for action in actions if action == "*" or action.endswith(":*")]
            if broad or "NotAction" in statement:
                yield Finding(
                    resource,
                    f"{label(resource)} allows {broad or 'NotAction'}; list the exact actions "
                    "the workload calls (e.g. s3:GetObject)",
                )
    for attachment in stack.of_type(IAM_ROLE_POLICY_ATTACHMENT):
        arn = str(attachment["inputs"].get("policyArn", ""))
        if arn.rsplit("/", 1)[-1] in BROAD_MANAGED:
            yield Finding(
                attachment,
                f"{label(attachment)} attaches {arn}; write a least-privilege policy instead",
            )


def _wildcard_data(stack: ResourceGraph) -> Iterator[Finding]:
    for resource, document in _documents(stack):
        for statement in allows(document):
            actions = [str(action).lower() for action in as_list(statement.get("Action"))]
            data = [action for action in actions if action.startswith(DATA_PREFIXES)]
            targets = [str(target) for target in as_list(statement.get("Resource"))]
            wild = [target for target in targets if target in WILDCARD_DATA_RESOURCES]
            if data and wild:
                yield Finding(
                    resource,
                    f"{label(resource)} grants {data} on {wild}; scope Resource to the model "
                    "bucket/prefix or the stack's KMS key ARN",
                )


RULES = (
    Rule(
        "iam-no-wildcard-actions",
        "IAM policies name their actions; no '*', 'service:*', NotAction or admin policies.",
        "mandatory",
        _wildcard_actions,
    ),
    Rule(
        "iam-no-wildcard-data-resources",
        "IAM grants on S3, KMS and secrets name the bucket, key or secret, never '*'.",
        "mandatory",
        _wildcard_data,
    ),
)
