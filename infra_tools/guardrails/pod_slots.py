"""How many pods a node can run (its max pods), as the kubelet of an EKS managed node group
will be told, read from the synthesized graph.

Each pod takes an address of the VPC. Without prefix delegation the VPC CNI hands out single
secondary addresses, so a small node's interfaces limit it (17 pods on a t3.medium); with
`ENABLE_PREFIX_DELEGATION` each address slot holds a /28 prefix of 16. A managed node group
whose launch template names no AMI computes the kubelet's max pods itself, from the vpc-cni
add-on's settings at the time it launches nodes, and caps it at 110 below 30 vCPUs (250
above). A node group created before the add-on enabled prefix delegation keeps the small
figure until its nodes are replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from infra_tools.graph import ResourceGraph
from infra_tools.inputs import decoded_setting, mapping, truthy
from infra_tools.type_tokens import EKS_ADDON

TABLE = Path(__file__).with_name("pod-slots.yaml")
PREFIX_SIZE = 16
CAP_SMALL, CAP_LARGE, LARGE_VCPUS = 110, 250, 30


@dataclass(frozen=True)
class NodeNetwork:
    enis: int
    ipv4_per_eni: int
    vcpus: int

    def max_pods(self, prefix_delegation: bool) -> int:
        slots = self.enis * (self.ipv4_per_eni - 1)
        if not prefix_delegation:
            return slots + 2
        cap = CAP_LARGE if self.vcpus >= LARGE_VCPUS else CAP_SMALL
        return min(slots * PREFIX_SIZE + 2, cap)


@cache
def _table(path: Path = TABLE) -> dict[str, NodeNetwork]:
    rows: dict[str, Any] = yaml.safe_load(path.read_text())["instances"]
    return {
        name: NodeNetwork(int(row["enis"]), int(row["ipv4PerEni"]), int(row["vcpus"]))
        for name, row in rows.items()
    }


def node_network(instance_type: str) -> NodeNetwork | None:
    return _table().get(instance_type)


def vpc_cni_settings(stack: ResourceGraph) -> dict[str, Any]:
    """The vpc-cni add-on's configuration values ({} when it has none, or no add-on)."""
    for addon in stack.of_type(EKS_ADDON):
        if addon["inputs"].get("addonName") == "vpc-cni":
            return mapping(decoded_setting(addon["inputs"].get("configurationValues")))
    return {}


def prefix_delegation(stack: ResourceGraph) -> bool:
    return truthy(mapping(vpc_cni_settings(stack).get("env")).get("ENABLE_PREFIX_DELEGATION"))


def vpc_cni_addon_urn(stack: ResourceGraph) -> str | None:
    for addon in stack.of_type(EKS_ADDON):
        if addon["inputs"].get("addonName") == "vpc-cni":
            return str(addon["urn"])
    return None
