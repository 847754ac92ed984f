"""`python -m infra_tools preview`: what a stack would create, summarized for a human."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from infra_tools.commands import Subparsers, add_stack_arguments, synthesize_stack
from infra_tools.synth import Synthesis


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="summarize what a stack declares (offline)",
        description="Synthesize STACK offline and print resource counts by type and key outputs.",
    )
    add_stack_arguments(parser)
    parser.set_defaults(handler=run)


def summarize(synthesis: Synthesis) -> str:
    custom = [resource for resource in synthesis.resources if resource["custom"]]
    counts = Counter(resource["type"] for resource in custom)
    protected = sorted(resource["name"] for resource in custom if resource["options"]["protect"])
    lines = [f"Stack {synthesis.stack}: {len(custom)} resources", ""]
    width = max((len(token) for token in counts), default=10)
    lines += [f"  {count:>4}  {token:<{width}}".rstrip() for token, count in sorted(counts.items())]
    lines += ["", "Key settings:", *[f"  {line}" for line in key_settings(custom)]]
    lines += ["", "Protected from deletion: " + (", ".join(protected) or "none"), "", "Outputs:"]
    lines += [f"  {key} = {_short(value)}" for key, value in sorted(synthesis.outputs.items())]
    return "\n".join(lines)


def key_settings(resources: list[dict[str, Any]]) -> list[str]:
    """The settings a reviewer asks about first, read off the declared graph."""

    def of_type(token: str) -> list[dict[str, Any]]:
        return [r["inputs"] for r in resources if r["type"] == token]

    subnets = of_type("aws:ec2/subnet:Subnet")
    nat_gateways = len(of_type("aws:ec2/natGateway:NatGateway"))
    nat_instances = len(of_type("aws:ec2/instance:Instance"))
    lines = [
        f"zones: {len({s.get('availabilityZone') for s in subnets})}, "
        f"NAT gateways: {nat_gateways}, NAT instances: {nat_instances}"
    ]
    for cluster in of_type("aws:eks/cluster:Cluster"):
        public = cluster.get("vpcConfig", {}).get("endpointPublicAccess", False)
        lines.append(
            f"EKS {cluster.get('version')}, API endpoint {'public' if public else 'private'}"
        )
    for pool in of_type("aws:eks/nodeGroup:NodeGroup"):
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
    print(summarize(synthesize_stack(args)))
    return 0
