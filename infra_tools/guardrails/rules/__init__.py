"""The guardrail rules: one set of functions, run offline by `check` and by the policy pack."""

from infra_tools.guardrails.rules import (
    cluster,
    compute,
    databases,
    iam,
    kubernetes,
    logs,
    queues,
    registry,
    storage,
    tags,
)
from infra_tools.guardrails.rules.base import Finding, Rule, Severity

RULES: tuple[Rule, ...] = (
    *storage.RULES,
    *queues.RULES,
    *compute.RULES,
    *cluster.RULES,
    *databases.RULES,
    *iam.RULES,
    *registry.RULES,
    *kubernetes.RULES,
    *logs.RULES,
    *tags.RULES,
)

__all__ = ["RULES", "Finding", "Rule", "Severity"]
