"""The components view of the architecture diagram: one box per component, in layers.

A component is a top-level ComponentResource; nested ones (a NAT instance inside the
network, an IRSA role inside the cluster add-ons) fold into it. Its layer follows from what
it contains: any `aws:eks/*` resource puts it on the EKS cluster, only Kubernetes resources
put it in the cluster's namespaces, everything else sits in the AWS account.
"""

from __future__ import annotations

import html
from collections import defaultdict

from infra_tools.graph import Resource, ResourceGraph, provider_urn
from infra_tools.guardrails.summaries import summarise
from infra_tools.inputs import as_list, mapping
from infra_tools.policy_documents import allows, policy_document
from infra_tools.type_tokens import (
    AWS_PROVIDER,
    EKS_PREFIX,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    KMS_KEY,
    KUBERNETES_PREFIX,
    PROVIDER_PREFIX,
    S3_BUCKET,
    SQS_QUEUE,
    STACK,
)

_SKIP = (PROVIDER_PREFIX, STACK)
# (layer, title, fill colour) from the outside in; each layer nests inside the previous one.
_LAYERS = (
    ("aws", "AWS account", "#fdf6ec"),
    ("cluster", "EKS cluster", "#eef4fb"),
    ("workloads", "Namespaces on the cluster", "#f6fbee"),
)
_FLOW_STYLE = 'color="#1f6fb2", fontcolor="#1f6fb2", penwidth=1.6'
_MUTED = ' color="gray40"'
_WRITE_VERBS = ("Put", "Delete", "Create", "Update", "Encrypt", "GenerateDataKey", "Abort", "Send")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def short_type(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def is_component(resource: Resource) -> bool:
    # Synth marks custom resources; in a written resources.json the key is gone, and component
    # types are "<package>:<area>:<Class>" where custom types carry a module path ("aws:s3/..").
    if "custom" in resource:
        return not resource["custom"]
    token = resource["type"]
    return token.count(":") == 2 and "/" not in token.split(":")[1]


def _layer(resources: list[Resource]) -> str:
    tokens = [r["type"] for r in resources]
    if any(token.startswith(EKS_PREFIX) for token in tokens):
        return "cluster"
    if tokens and all(token.startswith(KUBERNETES_PREFIX) for token in tokens):
        return "workloads"
    return "aws"


def _flow(source: Resource, target: Resource) -> str | None:
    """The data flow a dependency stands for, or None when it is only an ordering."""
    annotations = mapping(mapping(source["inputs"].get("metadata")).get("annotations"))
    if target["type"] == IAM_ROLE and "eks.amazonaws.com/role-arn" in annotations:
        return "assumes role (IRSA)"
    if source["type"] != IAM_ROLE_POLICY:
        return None
    service = {S3_BUCKET: "s3", KMS_KEY: "kms", SQS_QUEUE: "sqs"}.get(target["type"])
    verbs = [
        str(action).partition(":")[2]
        for statement in allows(policy_document(source["inputs"].get("policy")))
        for action in as_list(statement.get("Action"))
        if str(action).startswith(f"{service}:")
    ]
    if service is None or not verbs:
        return None
    writes = any(verb.startswith(_WRITE_VERBS) or verb == "*" for verb in verbs)
    return f"{service.upper()} {'read/write' if writes else 'read'}"


def _reduce(edges: set[tuple[str, str]], keep: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Transitive reduction: drop a→c when a→…→c exists, keeping the labelled flows."""
    successors: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        successors[source].add(target)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        stack = [t for t in successors[start] if (start, t) != skip]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(successors[node])
        return seen

    return {edge for edge in edges if edge in keep or edge[1] not in reachable(edge[0], edge)}


class _Graph:
    """Top-level components, their custom resources, and the edges between them."""

    def __init__(self, resources: list[Resource]) -> None:
        self.view = ResourceGraph([r for r in resources if not r["type"].startswith(_SKIP)])
        self.top: dict[str, str] = {}
        self.members: dict[str, list[Resource]] = defaultdict(list)
        self.components: dict[str, Resource] = {}
        for resource in self.view.resources:
            root = self._root(resource)
            if root is None:
                continue
            self.top[resource["urn"]] = root["urn"]
            self.components[root["urn"]] = root
            if not is_component(resource):
                self.members[root["urn"]].append(resource)

    def _root(self, resource: Resource) -> Resource | None:
        found = resource if is_component(resource) else None
        parent = self.view.get(resource.get("parent"))
        while parent is not None:
            found = parent if is_component(parent) else found
            parent = self.view.get(parent.get("parent"))
        return found

    def edges(self) -> tuple[set[tuple[str, str]], dict[tuple[str, str], set[str]]]:
        """Component edges 'dependent -> dependency' and the flow labels on some of them."""
        edges: set[tuple[str, str]] = set()
        labels: dict[tuple[str, str], set[str]] = defaultdict(set)
        for resource in self.view.resources:
            source = self.top.get(resource["urn"])
            for dependency in resource.get("dependencies", []):
                target_resource = self.view.get(provider_urn(dependency))
                target = self.top.get(target_resource["urn"]) if target_resource else None
                if source is None or target is None or source == target:
                    continue
                edges.add((source, target))
                flow = _flow(resource, target_resource) if target_resource else None
                if flow:
                    labels[(source, target)].add(flow)
        return edges, labels


def _box(graph: _Graph, urn: str, base: str) -> str:
    component = graph.components[urn]
    title = short_type(component["type"])
    if component["name"] != base:
        title += f" · {component['name'].removeprefix(base + '-')}"
    namespaces = sorted(
        {
            str(mapping(r["inputs"].get("metadata")).get("namespace"))
            for r in graph.members[urn]
            if mapping(r["inputs"].get("metadata")).get("namespace")
        }
    )
    # Resource names repeat the stack's base name ("mlops-dev-models"); the box says it once.
    lines = [line.replace(base + "-", "") for line in summarise(graph.members[urn], graph.view)]
    rows = [f'<b>{html.escape(title)}</b><br align="center"/>']
    if namespaces:
        rows.append(f'<i>namespace {html.escape(", ".join(namespaces))}</i><br align="center"/>')
    rows += [
        f'<font point-size="9"{_MUTED if line.startswith("+") else ""}>{html.escape(line)}</font>'
        '<br align="left"/>'
        for line in lines
    ]
    return f"<{''.join(rows)}>"


def _base_name(graph: _Graph) -> str:
    counts: dict[str, int] = defaultdict(int)
    for component in graph.components.values():
        counts[component["name"]] += 1
    return max(sorted(counts), key=lambda name: counts[name]) if counts else ""


def components_dot(stack_name: str, resources: list[Resource]) -> str:
    """One box per top-level component, grouped in layers; component-level edges only."""
    graph = _Graph(resources)
    base = _base_name(graph)
    ids = {urn: f"c{index}" for index, urn in enumerate(graph.components)}
    by_layer: dict[str, list[str]] = defaultdict(list)
    for urn in graph.components:
        by_layer[_layer(graph.members[urn])].append(urn)
    region = next(
        (
            str(p["inputs"].get("region"))
            for p in resources
            if p["type"] == AWS_PROVIDER and p["inputs"].get("region")
        ),
        "",
    )
    lines = [
        "digraph architecture {",
        f"  label={quote(f'mlops-platform: stack {stack_name}')}; labelloc=t; fontsize=20;",
        "  rankdir=TB; newrank=true; nodesep=0.3; ranksep=0.5; fontname=Helvetica;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica,'
        ' fontsize=11, margin="0.15,0.08"];',
        "  edge [color=gray60, arrowsize=0.6, fontname=Helvetica, fontsize=9];",
    ]
    depth = 0
    for layer, title, fill in _LAYERS:
        if not by_layer.get(layer):
            continue
        depth += 1
        pad = "  " * depth
        label = f"{title} ({region})" if layer == "aws" and region else title
        lines.append(f"{pad}subgraph cluster_{layer} {{")
        lines.append(
            f'{pad}  label={quote(label)}; style="rounded,filled"; fillcolor="{fill}"; '
            "color=gray60; fontsize=14;"
        )
        lines += [f"{pad}  {ids[urn]} [label={_box(graph, urn, base)}];" for urn in by_layer[layer]]
    lines += ["  " * level + "}" for level in range(depth, 0, -1)]
    edges, labels = graph.edges()
    for source, target in sorted(_reduce(edges, set(labels)), key=lambda e: (ids[e[0]], ids[e[1]])):
        flow = labels.get((source, target))
        style = f" [label={quote(', '.join(sorted(flow)))}, {_FLOW_STYLE}]" if flow else ""
        lines.append(f"  {ids[source]} -> {ids[target]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"
