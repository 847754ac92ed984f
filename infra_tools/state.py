"""A deployed stack as the engine recorded it: `pulumi stack export` JSON, read as a graph.

The export's resources have the synthesized graph's shape (urn, type, parent, provider,
dependencies, camelCase inputs) plus what only a deployment knows: the physical `id` and
the `outputs`. Write one with `pulumi stack export --stack NAME --file FILE`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.inputs import as_list, mapping

EXPORT_HINT = "write it with `pulumi stack export --stack STACK --file FILE`"


class StateError(ValueError):
    """A file that is not a `pulumi stack export`."""


def state_graph(export: Any, stack: str = "") -> ResourceGraph:
    """The live resources of an export; a stack never deployed has none.

    A replaced resource stays in the state, under the same URN and marked `delete`, until the
    engine has deleted it; only the live one is the deployed resource.
    """
    deployment = mapping(mapping(export).get("deployment"))
    resources: list[Resource] = [
        mapping(item)
        for item in as_list(deployment.get("resources"))
        if isinstance(mapping(item).get("urn"), str) and not mapping(item).get("delete")
    ]
    return ResourceGraph([{"type": "", "inputs": {}, **r} for r in resources], stack=stack)


def read_state(path: Path, stack: str = "") -> ResourceGraph:
    """The state exported to `path`; raises StateError naming the file and the fix."""
    try:
        export: Any = json.loads(path.read_text())
    except OSError as exc:
        raise StateError(
            f"--state {path}: cannot be read ({exc.strerror}); {EXPORT_HINT}"
        ) from None
    except json.JSONDecodeError as exc:
        raise StateError(f"--state {path}: is not JSON ({exc.msg}); {EXPORT_HINT}") from None
    if not isinstance(mapping(export).get("deployment"), dict):
        raise StateError(
            f"--state {path}: has no 'deployment' object, so it is not a stack export; "
            f"{EXPORT_HINT}"
        )
    return state_graph(export, stack)


def physical_id(resource: Resource) -> str | None:
    """The id the cloud knows a deployed resource by (a bucket's name, a VPC's vpc-...)."""
    value = resource.get("id")
    return value if isinstance(value, str) and value else None


def output(resource: Resource, key: str) -> str | None:
    """One of a deployed resource's outputs, as text (None when absent or secret)."""
    value = mapping(resource.get("outputs")).get(key)
    return value if isinstance(value, str) and value else None
