"""Architecture diagram of a synthesized stack, drawn with graphviz `dot`.

Two levels of detail, both derived from the graph alone (nothing is drawn per stack):

- `components` (default): one box per top-level ComponentResource listing its key resources
  (see `summaries`), boxes grouped in layers (AWS account, EKS cluster, namespaces on the
  cluster), edges only between components, aggregated from resource dependencies and
  reduced transitively, plus labelled data flows (a workload assuming an IAM role, a role's
  policy reaching a bucket or key).
- `resources`: every resource, nested in clusters per component, same-type siblings
  collapsed ("Subnet x4"), every dependency edge.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from infra_tools.graph import Resource, ResourceGraph, provider_urn
from infra_tools.guardrails.components import components_dot, is_component, quote, short_type
from infra_tools.type_tokens import PROVIDER_PREFIX

FORMATS = ("svg", "png")
DETAILS = ("components", "resources")
_SKIP = (PROVIDER_PREFIX,)


class DiagramError(RuntimeError):
    """The diagram cannot be drawn (bad output name or graphviz missing)."""


def resources_dot(stack_name: str, resources: list[Resource]) -> str:
    """The detailed view: every resource, clustered by component."""
    stack = ResourceGraph([r for r in resources if not r["type"].startswith(_SKIP)])
    components = {r["urn"]: r for r in stack.resources if is_component(r)}

    def enclosing(resource: Resource) -> str:
        parent = stack.get(resource.get("parent"))
        while parent is not None and parent["urn"] not in components:
            parent = stack.get(parent.get("parent"))
        return parent["urn"] if parent is not None else ""

    # Collapse custom resources to (component, type) nodes.
    node_of: dict[str, str] = {}
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for resource in stack.resources:
        if resource["urn"] in components:
            continue
        key = (enclosing(resource), resource["type"])
        members[key].append(resource["name"])
        node_of[resource["urn"]] = f"n{list(members).index(key)}"
    children: dict[str, list[str]] = defaultdict(list)
    for urn in components:
        children[enclosing(components[urn])].append(urn)

    lines = [
        "digraph architecture {",
        f"  label={quote(f'mlops-platform: stack {stack_name}')}; labelloc=t; fontsize=20;",
        "  rankdir=LR; compound=true; newrank=true; fontname=Helvetica;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica,'
        " fontsize=10];",
        "  edge [color=gray50, arrowsize=0.6];",
    ]

    def emit(component: str, depth: int) -> None:
        pad = "  " * (depth + 1)
        for index, ((owner, token), names) in enumerate(members.items()):
            if owner == component:
                count = f" x{len(names)}" if len(names) > 1 else f"\\n{names[0]}"
                lines.append(f"{pad}n{index} [label={quote(short_type(token) + count)}];")
        for child in children.get(component, []):
            resource = components[child]
            title = f"{resource['name']} ({short_type(resource['type'])})"
            fill = ("#eef4fb", "#f6fbee", "#fdf6ec")[depth % 3]
            lines.append(f"{pad}subgraph {quote('cluster_' + child)} {{")
            lines.append(
                f"{pad}  label={quote(title)}; "
                f'style="rounded,filled"; fillcolor="{fill}"; color=gray60;'
            )
            emit(child, depth + 1)
            lines.append(f"{pad}}}")

    emit("", 0)
    edges: set[tuple[str, str]] = set()
    for resource in stack.resources:
        target = node_of.get(resource["urn"])
        for dependency in resource.get("dependencies", []):
            source = node_of.get(provider_urn(dependency) or "")
            if source and target and source != target:
                edges.add((source, target))
    lines += [f"  {source} -> {target};" for source, target in sorted(edges)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(stack_name: str, resources: list[Resource], detail: str = "components") -> str:
    """DOT source for `stack_name` at `detail` level (one of DETAILS)."""
    if detail == "resources":
        return resources_dot(stack_name, resources)
    if detail == "components":
        return components_dot(stack_name, resources)
    raise DiagramError(
        f"--detail {detail!r} is not a level of detail; use one of: {', '.join(DETAILS)}"
    )


def render(dot_source: str, out: Path) -> None:
    """Write `out` (.svg or .png) with graphviz's `dot`."""
    suffix = out.suffix.lstrip(".").lower()
    if suffix not in FORMATS:
        raise DiagramError(f"--out {out}: unknown format {suffix!r}; name the file .svg or .png")
    dot = shutil.which("dot")
    if dot is None:
        raise DiagramError(
            "graphviz's `dot` is not installed; run `make graphviz` (apt-get install graphviz)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([dot, f"-T{suffix}", "-o", str(out)], input=dot_source.encode(), check=True)  # noqa: S603
