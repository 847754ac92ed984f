"""Logs and what clients send: kept for a bounded time, encrypted, and over TLS in prod."""

from __future__ import annotations

from collections.abc import Iterator

from infra.components.workloads.exposure import LB_ANNOTATION, PLAIN_HTTP_ACCEPTED
from infra_tools.graph import ResourceGraph
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import mapping
from infra_tools.type_tokens import CLOUDWATCH_LOG_GROUP, K8S_SERVICE


def _log_groups(stack: ResourceGraph) -> Iterator[Finding]:
    for group in stack.of_type(CLOUDWATCH_LOG_GROUP):
        inputs = group["inputs"]
        if not inputs.get("retentionInDays"):
            yield Finding(
                group,
                f"{label(group)} keeps logs forever; set retention_in_days (e.g. from "
                "logs.retentionDays) so cost and exposure stay bounded",
            )
        if not inputs.get("kmsKeyId"):
            yield Finding(
                group,
                f"{label(group)} is not encrypted with the stack's KMS key; set kms_key_id "
                "to the LogStore key (its policy lets CloudWatch Logs use it)",
            )


def _plain_http_in_prod(stack: ResourceGraph) -> Iterator[Finding]:
    if stack.environment() != "prod":
        return
    for service in stack.of_type(K8S_SERVICE):
        spec = mapping(service["inputs"].get("spec"))
        metadata = mapping(service["inputs"].get("metadata"))
        annotations = mapping(metadata.get("annotations"))
        if spec.get("type") != "LoadBalancer" or f"{LB_ANNOTATION}-ssl-cert" in annotations:
            continue
        if annotations.get(PLAIN_HTTP_ACCEPTED) == "true":
            continue
        yield Finding(
            service,
            f"{label(service)} serves plain HTTP in prod: bearer keys would cross the network "
            "in clear; set app.exposure.certificateArn (an ACM certificate) in the stack file",
        )


RULES = (
    Rule(
        "log-group-retention-kms",
        "Every CloudWatch log group has a retention and the stack's KMS key.",
        "mandatory",
        _log_groups,
    ),
    Rule(
        "prod-load-balancer-tls",
        "Prod load balancers terminate TLS, unless the stack file accepts plain HTTP.",
        "mandatory",
        _plain_http_in_prod,
    ),
)
