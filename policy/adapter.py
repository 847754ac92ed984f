"""Turns the shared rules into pulumi_policy stack validations (no server started on import)."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.guardrails.rules import RULES, Rule
from infra_tools.inputs import decoded_setting

LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def to_resource(resource: PolicyResource) -> Resource:
    """One engine resource in the synthesized-graph format (urn, type, inputs, ...)."""
    provider = resource.provider
    return {
        "urn": resource.urn,
        "type": resource.resource_type,
        "name": resource.name,
        "parent": resource.parent.urn if resource.parent else None,
        "provider": provider.urn if provider else None,
        "dependencies": [dependency.urn for dependency in resource.dependencies],
        "options": {
            "protect": resource.opts.protect,
            "ignoreChanges": list(resource.opts.ignore_changes),
        },
        "inputs": dict(resource.props),
    }


def to_resources(resources: list[PolicyResource]) -> list[Resource]:
    """All resources plus each distinct provider (rules read the AWS provider's default tags)."""
    converted = [to_resource(resource) for resource in resources]
    seen = {resource["urn"] for resource in converted}
    for resource in resources:
        provider = resource.provider
        if provider is not None and provider.urn not in seen:
            seen.add(provider.urn)
            converted.append(
                {
                    "urn": provider.urn,
                    "type": provider.resource_type,
                    "name": provider.name,
                    "parent": None,
                    "provider": None,
                    "dependencies": [],
                    "options": {},
                    "inputs": {key: decoded_setting(v) for key, v in provider.props.items()},
                }
            )
    return converted


def _validation(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for finding in rule.evaluate(ResourceGraph(to_resources(args.resources))):
            report_violation(finding.message, finding.resource["urn"])

    return validate


def stack_policies() -> list[StackValidationPolicy]:
    return [
        StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            enforcement_level=LEVELS[rule.severity],
            validate=_validation(rule),
        )
        for rule in RULES
    ]
