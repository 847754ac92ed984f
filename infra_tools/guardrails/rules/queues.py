"""SQS queues: encrypted at rest, a dead-letter queue behind every working queue, and queue
policies that let an AWS service send on behalf of one named source only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import as_list, mapping, truthy
from infra_tools.policy_documents import allows, policy_document
from infra_tools.type_tokens import SQS_QUEUE, SQS_QUEUE_POLICY

# Condition operators that pin `aws:SourceArn` to named resources (ArnLike with a pattern too).
_SOURCE_OPERATORS = ("ArnEquals", "ArnLike", "StringEquals", "StringLike")


def _redrive(queue: Resource) -> dict[str, Any]:
    value = queue["inputs"].get("redrivePolicy")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return mapping(value)


def _dead_letter_queues(stack: ResourceGraph) -> set[str]:
    """URNs of queues another queue redrives to: named in its redrivePolicy by ARN (a real
    engine) or, while the ARN is unknown (offline, a preview), the queue it depends on."""
    found: set[str] = set()
    queues = stack.of_type(SQS_QUEUE)
    for queue in queues:
        target = str(_redrive(queue).get("deadLetterTargetArn") or "")
        if not target:
            continue
        for other in queues:
            name = other["inputs"].get("name")
            by_name = isinstance(name, str) and target.endswith(f":{name}")
            if by_name or other["urn"] in queue.get("dependencies", []):
                found.add(other["urn"])
    return found


def _encrypted(stack: ResourceGraph) -> Iterator[Finding]:
    for queue in stack.of_type(SQS_QUEUE):
        inputs = queue["inputs"]
        if not (truthy(inputs.get("sqsManagedSseEnabled")) or inputs.get("kmsMasterKeyId")):
            yield Finding(
                queue,
                f"{label(queue)} is not encrypted at rest; set sqs_managed_sse_enabled=True "
                "(or kms_master_key_id with a key policy that admits the senders)",
            )


def _dead_letter(stack: ResourceGraph) -> Iterator[Finding]:
    dead_letters = _dead_letter_queues(stack)
    for queue in stack.of_type(SQS_QUEUE):
        if queue["urn"] in dead_letters:
            continue
        redrive = _redrive(queue)
        if not redrive.get("deadLetterTargetArn") or not redrive.get("maxReceiveCount"):
            yield Finding(
                queue,
                f"{label(queue)} has no dead-letter queue, so a message that keeps failing is "
                "retried until it expires and then lost; add a second aws.sqs.Queue and set "
                "redrive_policy with its deadLetterTargetArn and a maxReceiveCount",
            )


def _unscoped(statement: dict[str, Any]) -> bool:
    """An Allow to a service or anyone that does not pin `aws:SourceArn`."""
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        fields = mapping(principal)
        if "Service" not in fields and fields.get("AWS") != "*":
            return False  # named accounts or roles: scoped by the principal itself
    elif principal != "*":
        return False
    condition = mapping(statement.get("Condition"))
    return not any(
        "aws:SourceArn" in mapping(condition.get(operator)) for operator in _SOURCE_OPERATORS
    )


def _source_scoped(stack: ResourceGraph) -> Iterator[Finding]:
    for policy in stack.of_type(SQS_QUEUE_POLICY):
        document = policy_document(policy["inputs"].get("policy"))
        if any(_unscoped(statement) for statement in allows(document)) or not as_list(
            mapping(document).get("Statement")
        ):
            yield Finding(
                policy,
                f"{label(policy)} lets a service (or anyone) send without naming the source; "
                "add a Condition with ArnEquals aws:SourceArn = the one bucket (and "
                "StringEquals aws:SourceAccount), so no other account's bucket can fill the queue",
            )


RULES = (
    Rule(
        "sqs-encrypted",
        "Every SQS queue is encrypted at rest (SSE-SQS or SSE-KMS).",
        "mandatory",
        _encrypted,
    ),
    Rule(
        "sqs-dead-letter-queue",
        "Every SQS queue redrives to a dead-letter queue (or is one).",
        "mandatory",
        _dead_letter,
    ),
    Rule(
        "sqs-policy-source-scoped",
        "SQS queue policies admit a service only for a named aws:SourceArn.",
        "mandatory",
        _source_scoped,
    ),
)
