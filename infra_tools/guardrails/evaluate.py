"""The offline runner: every rule over a synthesized graph, no policy-pack server involved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.guardrails.rules import RULES, Rule, Severity


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: Severity
    urn: str
    resource: str
    message: str


def evaluate(resources: list[Resource], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """All violations, mandatory first, then by rule and resource."""
    stack = ResourceGraph(resources)
    found = [
        Violation(
            rule.name,
            rule.severity,
            finding.resource["urn"],
            finding.resource["name"],
            finding.message,
        )
        for rule in rules
        for finding in rule.evaluate(stack)
    ]
    return sorted(found, key=lambda v: (v.severity != "mandatory", v.rule, v.resource))


def has_mandatory(violations: Sequence[Violation]) -> bool:
    return any(violation.severity == "mandatory" for violation in violations)


def as_json(
    stack: str, violations: Sequence[Violation], rules: Sequence[Rule] = RULES
) -> dict[str, object]:
    return {
        "stack": stack,
        "passed": not has_mandatory(violations),
        "rules": [
            {"name": r.name, "severity": r.severity, "description": r.description} for r in rules
        ],
        "violations": [asdict(violation) for violation in violations],
    }


def as_table(stack: str, violations: Sequence[Violation], rules: Sequence[Rule] = RULES) -> str:
    """One line per rule (PASS/FAIL/WARN), then each violation's message."""
    by_rule: dict[str, list[Violation]] = {}
    for violation in violations:
        by_rule.setdefault(violation.rule, []).append(violation)
    width = max(len(rule.name) for rule in rules)
    lines = [f"{'RESULT':<6}  {'SEVERITY':<9}  {'RULE':<{width}}  FINDINGS"]
    for rule in rules:
        hits = by_rule.get(rule.name, [])
        result = "PASS" if not hits else ("FAIL" if rule.severity == "mandatory" else "WARN")
        lines.append(f"{result:<6}  {rule.severity:<9}  {rule.name:<{width}}  {len(hits)}")
    if violations:
        lines.append("")
        lines += [f"{v.severity.upper()} {v.rule}: {v.message}" for v in violations]
    mandatory = sum(v.severity == "mandatory" for v in violations)
    lines += [
        "",
        f"stack {stack}: {len(rules)} rules, {mandatory} mandatory and "
        f"{len(violations) - mandatory} advisory violations",
    ]
    return "\n".join(lines)
