"""What a rule is: a function over a stack's graph that yields one finding per offending resource.

Rules query the graph through `infra_tools.graph.ResourceGraph`. The policy pack converts the
engine's resources into the same graph format, so one set of rule functions serves both the
offline `check` command and `pulumi preview --policy-pack`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from infra_tools.graph import Resource, ResourceGraph

Severity = Literal["mandatory", "advisory"]


@dataclass(frozen=True)
class Finding:
    """One resource breaking a rule; `message` names the resource and the fix."""

    resource: Resource
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    """Kebab-case id, as shown by `check` and the policy pack."""
    description: str
    """One line: what must hold and why."""
    severity: Severity
    """mandatory fails `check` and blocks a deployment; advisory only warns."""
    evaluate: Callable[[ResourceGraph], Iterable[Finding]]
    """Yields one finding per offending resource."""


def label(resource: Resource) -> str:
    """`type name`, the way a reviewer finds the resource in a preview."""
    return f"{resource['type'].rsplit(':', 1)[-1]} '{resource['name']}'"
