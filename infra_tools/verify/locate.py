"""Finding a declared resource's physical counterpart.

With the stack's state (`--state`, a `pulumi stack export`) the engine's own record names it
exactly: the state resource with the same URN, and its physical id. Without a state, verify
falls back to the stack outputs (`--outputs`) for the resources they export, and else to a
search by the stack's tags plus each resource's declared identity (explicit name or Pulumi's
auto-name pattern, CIDR block, or the key a bucket is encrypted with).
"""

from __future__ import annotations

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.state import physical_id
from infra_tools.verify.report import Mismatch, label, missing
from infra_tools.verify.target import Target

# Declared resource URN -> physical id/name/ARN, filled as checks find resources.
Bindings = dict[str, str]


def has_tags(actual: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(actual.get(key) == value for key, value in wanted.items())


def describe_tags(tags: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(tags.items())) or "(no tags)"


def deployed(target: Target, resource: Resource) -> Resource | Mismatch | None:
    """`resource` as the stack's state records it; None when verify was given no state."""
    if target.state is None:
        return None
    found = target.state.get(resource["urn"])
    if found is None or physical_id(found) is None:
        return missing(label(resource), "not in the stack's state")
    return found


def _offline_identities(resource: Resource) -> set[str]:
    # What the offline synthesis exported for this resource (see infra_tools/synth/fakes.py):
    # an explicit name, or the logical name with a fixed suffix or "-id".
    inputs = resource["inputs"]
    name = str(resource["name"])
    explicit = {str(inputs[key]) for key in ("bucket", "name") if inputs.get(key)}
    return explicit | {name, f"{name}-0000000", f"{name}-id"}


def bound_output(declared: ResourceGraph, target: Target, resource: Resource) -> str | None:
    """The deployed name of `resource` from --outputs, when a stack output exports it."""
    identities = _offline_identities(resource)
    for key, value in declared.outputs.items():
        if isinstance(value, str) and value in identities and key in target.outputs:
            return str(target.outputs[key])
    return None


def named(declared: ResourceGraph, target: Target, resource: Resource) -> str | Mismatch | None:
    """The physical id of `resource` from the state, else from --outputs; None: search for it.

    A Mismatch says the state was given and does not hold the resource (never deployed).
    """
    found = deployed(target, resource)
    if isinstance(found, Mismatch):
        return found
    if found is not None:
        return physical_id(found)
    return bound_output(declared, target, resource)
