"""Pod slots per node: what the kubelet of a managed node group allows, with and without the
VPC CNI's prefix delegation, as `cost` reports it."""

from __future__ import annotations

import copy
import json

import pytest

from infra_tools.graph import ResourceGraph
from infra_tools.guardrails.cost import estimate, price_table
from infra_tools.guardrails.pod_slots import node_network, prefix_delegation
from infra_tools.synth import Synthesis
from infra_tools.type_tokens import EKS_ADDON

# The NAT instance types are never nodes.
NOT_NODES = ("t4g.nano", "t4g.micro", "t4g.small")


@pytest.mark.parametrize(
    ("instance_type", "single_addresses", "prefixes"),
    [
        # amazon-eks-ami's eni-max-pods.txt lists the first column.
        ("t3.medium", 17, 110),
        ("m6i.large", 29, 110),
        ("g5.xlarge", 58, 110),
        # 48 vCPUs: a managed node group allows up to 250.
        ("g5.12xlarge", 234, 250),
    ],
)
def test_max_pods_with_and_without_prefix_delegation(
    instance_type: str, single_addresses: int, prefixes: int
) -> None:
    network = node_network(instance_type)
    assert network is not None
    assert network.max_pods(prefix_delegation=False) == single_addresses
    assert network.max_pods(prefix_delegation=True) == prefixes


def test_every_priced_node_type_has_its_network_listed() -> None:
    missing = [
        name
        for name in price_table()["instances"]
        if name not in NOT_NODES and node_network(name) is None
    ]
    assert missing == [], "add them to infra_tools/guardrails/pod-slots.yaml"


def _system_pod_slots(resources: list[dict[str, object]]) -> set[str]:
    lines = estimate("dev", resources).lines  # type: ignore[arg-type]
    return {line.item.rsplit(", ", 1)[-1] for line in lines if "t3.medium" in line.item}


def test_dev_system_nodes_have_110_pod_slots_with_prefix_delegation(
    syntheses: dict[str, Synthesis],
) -> None:
    resources = syntheses["dev"].resources
    assert prefix_delegation(ResourceGraph(resources))
    assert _system_pod_slots(resources) == {"110 pods each"}


def test_without_prefix_delegation_a_t3_medium_has_17(syntheses: dict[str, Synthesis]) -> None:
    resources = copy.deepcopy(syntheses["dev"].resources)
    for addon in resources:
        if addon["type"] == EKS_ADDON and addon["inputs"].get("addonName") == "vpc-cni":
            config = json.loads(addon["inputs"]["configurationValues"])
            del config["env"]["ENABLE_PREFIX_DELEGATION"]
            addon["inputs"]["configurationValues"] = json.dumps(config)
    assert _system_pod_slots(resources) == {"17 pods each"}
