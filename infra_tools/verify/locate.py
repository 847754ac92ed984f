"""Finding physical resources: by stack output when given, else by the stack's tags."""

from __future__ import annotations

from infra_tools.verify.declared import Declared, Resource
from infra_tools.verify.target import Target

# Declared resource URN -> physical id/name/ARN, filled as checks find resources.
Bindings = dict[str, str]


def has_tags(actual: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(actual.get(key) == value for key, value in wanted.items())


def describe_tags(tags: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(tags.items())) or "(no tags)"


def _offline_identities(resource: Resource) -> set[str]:
    # What the offline synthesis exported for this resource (see infra_tools/synth/fakes.py):
    # an explicit name, or the logical name with a fixed suffix or "-id".
    inputs = resource["inputs"]
    name = str(resource["name"])
    explicit = {str(inputs[key]) for key in ("bucket", "name") if inputs.get(key)}
    return explicit | {name, f"{name}-0000000", f"{name}-id"}


def bound_output(declared: Declared, target: Target, resource: Resource) -> str | None:
    """The deployed name of `resource` from --outputs, when a stack output exports it."""
    identities = _offline_identities(resource)
    for key, value in declared.synthesis.outputs.items():
        if isinstance(value, str) and value in identities and key in target.outputs:
            return str(target.outputs[key])
    return None
