"""`python -m infra_tools preview`: what a stack would create, summarized for a human."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from infra_tools.commands import Subparsers, add_stack_arguments, synthesize_stack
from infra_tools.graph import ResourceGraph
from infra_tools.type_tokens import (
    EC2_INSTANCE,
    EC2_NAT_GATEWAY,
    EC2_SUBNET,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="summarize what a stack declares (offline)",
        description="Synthesize STACK offline and print resource counts by type and key outputs.",
    )
    add_stack_arguments(parser)
    parser.set_defaults(handler=run)


def summarize(graph: ResourceGraph) -> str:
    custom = [resource for resource in graph.resources if resource["custom"]]
    counts = Counter(resource["type"] for resource in custom)
    protected = sorted(resource["name"] for resource in custom if resource["options"]["protect"])
    lines = [f"Stack {graph.stack}: {len(custom)} resources", ""]
    width = max((len(token) for token in counts), default=10)
    lines += [f"  {count:>4}  {token:<{width}}".rstrip() for token, count in sorted(counts.items())]
    lines += ["", "Key settings:", *[f"  {line}" for line in key_settings(graph)]]
    lines += ["", "Protected from deletion: " + (", ".join(protected) or "none"), "", "Outputs:"]
    lines += [f"  {key} = {_short(value)}" for key, value in sorted(graph.outputs.items())]
    return "\n".join(lines)


def key_settings(graph: ResourceGraph) -> list[str]:
    """The settings a reviewer asks about first, read off the declared graph."""

    def of_type(token: str) -> list[dict[str, Any]]:
        return [resource["inputs"] for resource in graph.of_type(token)]

    subnets = of_type(EC2_SUBNET)
    nat_gateways = len(of_type(EC2_NAT_GATEWAY))
    nat_instances = len(of_type(EC2_INSTANCE))
    lines = [
        f"zones: {len({s.get('availabilityZone') for s in subnets})}, "
        f"NAT gateways: {nat_gateways}, NAT instances: {nat_instances}"
    ]
    for cluster in of_type(EKS_CLUSTER):
        public = cluster.get("vpcConfig", {}).get("endpointPublicAccess", False)
        lines.append(
            f"EKS {cluster.get('version')}, API endpoint {'public' if public else 'private'}"
        )
    for pool in of_type(EKS_NODE_GROUP):
        scaling = pool.get("scalingConfig", {})
        lines.append(
            f"node pool {pool.get('nodeGroupName')}: {scaling.get('minSize')}-"
            f"{scaling.get('maxSize')} x {'/'.join(pool.get('instanceTypes', []))} "
            f"{pool.get('capacityType', '').lower()}"
        )
    return lines


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 100 else text[:97] + "..."


def run(args: argparse.Namespace) -> int:
    print(summarize(synthesize_stack(args).graph))
    return 0
