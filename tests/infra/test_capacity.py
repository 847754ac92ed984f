"""Node pools: the CPU system pool and the GPU pool that scales to zero."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components import scheduling
from tests.infra.graph import Graph

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
STACKS = ["dev", "prod"]


def _gpu_pool(graph: Graph) -> dict:
    return graph.one(NODE_GROUP, f"mlops-{graph.stack}-gpu")


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_pool_scales_to_zero_and_is_tainted_and_labelled(
    graphs: dict[str, Graph], stack: str
) -> None:
    inputs = _gpu_pool(graphs[stack])["inputs"]
    assert inputs["scalingConfig"]["minSize"] == 0
    assert inputs["scalingConfig"]["desiredSize"] == 0
    assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert inputs["labels"] == {scheduling.POOL_LABEL: scheduling.GPU_POOL}
    assert inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert graphs[stack].outputs["gpuNodePoolName"] == inputs["nodeGroupName"]


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaler_owns_desired_size(graphs: dict[str, Graph], stack: str) -> None:
    for pool in graphs[stack].of_type(NODE_GROUP):
        assert "scalingConfig.desiredSize" in pool["options"]["ignoreChanges"], pool["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_pool_advertises_its_label_and_taint_for_scale_from_zero(
    graphs: dict[str, Graph], stack: str
) -> None:
    tags = {
        t["inputs"]["tag"]["key"]: t["inputs"]["tag"]["value"]
        for t in graphs[stack].of_type("aws:autoscaling/tag:Tag")
    }
    template = "k8s.io/cluster-autoscaler/node-template"
    assert tags[f"{template}/label/{scheduling.POOL_LABEL}"] == scheduling.GPU_POOL
    assert tags[f"{template}/taint/nvidia.com/gpu"] == "true:NoSchedule"


def test_dev_runs_on_spot_and_prod_on_demand(dev: Graph, prod: Graph) -> None:
    assert {p["inputs"]["capacityType"] for p in dev.of_type(NODE_GROUP)} == {"SPOT"}
    assert {p["inputs"]["capacityType"] for p in prod.of_type(NODE_GROUP)} == {"ON_DEMAND"}


def test_prod_system_pool_spans_every_zone(prod: Graph) -> None:
    system = prod.one(NODE_GROUP, "mlops-prod-system")["inputs"]
    assert system["subnetIds"] == prod.outputs["privateSubnetIds"]
    assert system["scalingConfig"]["minSize"] >= 3


@pytest.mark.parametrize("stack", STACKS)
def test_every_launch_template_requires_imdsv2_and_encrypts_gp3(
    graphs: dict[str, Graph], stack: str
) -> None:
    templates = graphs[stack].of_type(LAUNCH_TEMPLATE)
    assert templates
    for template in templates:
        inputs = template["inputs"]
        assert inputs["metadataOptions"]["httpTokens"] == "required", template["name"]
        assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1, template["name"]
        for mapping in inputs["blockDeviceMappings"]:
            assert mapping["ebs"]["encrypted"] == "true", template["name"]
            assert mapping["ebs"]["volumeType"] == "gp3", template["name"]
        for interface in inputs.get("networkInterfaces", []):
            assert interface.get("associatePublicIpAddress") == "false", template["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_node_group_uses_a_launch_template_and_private_subnets(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    private = set(graph.outputs["privateSubnetIds"])
    template_ids = {f"{t['name']}-id" for t in graph.of_type(LAUNCH_TEMPLATE)}
    for pool in graph.of_type(NODE_GROUP):
        assert pool["inputs"]["launchTemplate"]["id"] in template_ids, pool["name"]
        assert set(pool["inputs"]["subnetIds"]) <= private, pool["name"]


def test_prod_gpu_pool_packs_nodes_for_multi_node_training(prod: Graph) -> None:
    group = prod.one("aws:ec2/placementGroup:PlacementGroup")
    assert group["inputs"]["strategy"] == "cluster"
    template = prod.one(LAUNCH_TEMPLATE, "mlops-prod-gpu")["inputs"]
    assert template["networkInterfaces"][0]["interfaceType"] == "efa"
    # A cluster placement group is confined to one zone.
    assert len(_gpu_pool(prod)["inputs"]["subnetIds"]) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_device_plugin_and_autoscaler_are_pinned_helm_releases(
    graphs: dict[str, Graph], stack: str
) -> None:
    releases = {
        r["inputs"]["name"]: r["inputs"]
        for r in graphs[stack].of_type("kubernetes:helm.sh/v3:Release")
    }
    plugin = releases["nvidia-device-plugin"]
    assert plugin["version"]
    assert plugin["values"]["tolerations"] == scheduling.GPU_TOLERATIONS
    # The chart's default affinity wants node-feature-discovery labels that EKS nodes lack;
    # ours must replace it with the GPU pool's own label, or the plugin runs nowhere.
    terms = plugin["values"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms == [
        {
            "matchExpressions": [
                {"key": scheduling.POOL_LABEL, "operator": "In", "values": [scheduling.GPU_POOL]}
            ]
        }
    ], terms
    autoscaler = releases["cluster-autoscaler"]
    assert autoscaler["version"]
    assert (
        autoscaler["values"]["autoDiscovery"]["clusterName"] == graphs[stack].outputs["clusterName"]
    )
    annotations = autoscaler["values"]["rbac"]["serviceAccount"]["annotations"]
    assert annotations[scheduling.ROLE_ARN_ANNOTATION].startswith("arn:aws:iam::")


def test_efa_device_plugin_comes_with_efa_only(graphs: dict[str, Graph]) -> None:
    def releases(stack: str) -> dict[str, dict[str, Any]]:
        return {
            r["inputs"]["name"]: r["inputs"]
            for r in graphs[stack].of_type("kubernetes:helm.sh/v3:Release")
        }

    efa = releases("prod")["aws-efa-k8s-device-plugin"]
    assert efa["version"], "the chart version is pinned"
    assert efa["values"]["nodeSelector"] == scheduling.GPU_NODE_SELECTOR
    assert efa["values"]["tolerations"] == scheduling.GPU_TOLERATIONS
    assert "aws-efa-k8s-device-plugin" not in releases("dev"), "dev's GPU pool has no EFA"
