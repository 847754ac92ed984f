"""The policy pack serves the same rules to the Pulumi engine (its server is never started here)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)

from infra_tools.guardrails.rules import RULES
from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import AWS_PROVIDER, KMS_KEY, SQS_QUEUE
from policy.adapter import stack_policies, to_resources

POLICY_DIR = PROJECT_ROOT / "policy"


def _resource(
    token: str, name: str, props: dict[str, object], provider: PolicyProviderResource
) -> PolicyResource:
    urn = f"urn:pulumi:prod::mlops-platform::{token}::{name}"
    opts = PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), [])
    return PolicyResource(token, props, urn, name, opts, provider, None, [], {})


def _provider(tags: str) -> PolicyProviderResource:
    # The engine hands provider settings to policies as JSON text.
    return PolicyProviderResource(
        AWS_PROVIDER,
        {"defaultTags": tags},
        "urn:pulumi:prod::mlops-platform::pulumi:providers:aws::aws",
        "aws",
    )


def test_pack_declares_one_stack_policy_per_rule_with_its_enforcement() -> None:
    policies = stack_policies()
    assert [p.name for p in policies] == [rule.name for rule in RULES]
    levels = {p.name: p.enforcement_level for p in policies}
    assert levels["s3-versioning"] == EnforcementLevel.MANDATORY
    assert levels["k8s-no-privilege-escalation"] == EnforcementLevel.ADVISORY


def test_pack_reports_violations_against_engine_resources() -> None:
    provider = _provider(
        '{"tags": {"environment": "prod", "project": "p", "owner": "o", "cost-center": "c"}}'
    )
    key = _resource(KMS_KEY, "key", {"enableKeyRotation": False}, provider)
    resources = to_resources([key])
    assert resources[-1]["inputs"]["defaultTags"]["tags"]["environment"] == "prod"

    policy = next(p for p in stack_policies() if p.name == "kms-key-rotation")
    reported: list[tuple[str, str | None]] = []

    args = StackValidationArgs([key], {}, {})
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert reported and reported[0][1] == key.urn and "enable_key_rotation" in reported[0][0]


def test_pack_tells_a_dead_letter_queue_by_the_arn_the_engine_resolved() -> None:
    """In a real preview the redrive policy holds the DLQ's ARN and autonaming filled in each
    queue's name: the DLQ needs no DLQ of its own, a queue without one is reported."""
    provider = _provider('{"tags": {"environment": "prod"}}')
    arn = "arn:aws:sqs:us-east-1:111122223333:events-dlq-1a2b3c4"
    dlq = _resource(SQS_QUEUE, "events-dlq", {"name": "events-dlq-1a2b3c4"}, provider)
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 52})
    queue = _resource(
        SQS_QUEUE, "events", {"name": "events-9f8e7d6", "redrivePolicy": redrive}, provider
    )
    lonely = _resource(SQS_QUEUE, "lonely", {"name": "lonely-0a1b2c3"}, provider)
    policy = next(p for p in stack_policies() if p.name == "sqs-dead-letter-queue")
    reported: list[tuple[str, str | None]] = []
    args = StackValidationArgs([dlq, queue, lonely], {}, {})
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert [urn for _, urn in reported] == [lonely.urn], reported


def test_pack_metadata_runs_python_from_the_project_virtualenv() -> None:
    document = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert document["runtime"]["name"] == "python"
    venv = (POLICY_DIR / document["runtime"]["options"]["virtualenv"]).resolve()
    assert (venv / "bin" / "python").exists(), f"{venv} is not a virtualenv; run `make venv`"
    assert "PolicyPack(" in Path(POLICY_DIR / "__main__.py").read_text()
