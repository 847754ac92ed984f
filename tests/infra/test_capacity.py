"""Node pools: the CPU system pool and the GPU pool that scales to zero."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra.components import scheduling
from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import (
    AUTOSCALING_TAG,
    EC2_LAUNCH_TEMPLATE,
    EC2_PLACEMENT_GROUP,
    EC2_SUBNET,
    EKS_NODE_GROUP,
    HELM_RELEASE,
)
from tests.infra.graph import Graph

STACKS = ["dev", "prod"]


def _gpu_pool(graph: Graph) -> dict:
    return graph.one(EKS_NODE_GROUP, f"mlops-{graph.stack}-gpu")


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_pool_scales_to_zero_and_is_tainted_and_labelled(
    graphs: dict[str, Graph], stack: str
) -> None:
    inputs = _gpu_pool(graphs[stack])["inputs"]
    assert inputs["scalingConfig"]["minSize"] == 0
    assert inputs["scalingConfig"]["desiredSize"] == 0
    assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert inputs["labels"][scheduling.POOL_LABEL] == scheduling.GPU_POOL
    assert inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert graphs[stack].outputs["gpuNodePoolName"] == inputs["nodeGroupName"]


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaler_owns_desired_size(graphs: dict[str, Graph], stack: str) -> None:
    for pool in graphs[stack].of_type(EKS_NODE_GROUP):
        assert "scalingConfig.desiredSize" in pool["options"]["ignoreChanges"], pool["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_pool_advertises_its_label_and_taint_for_scale_from_zero(
    graphs: dict[str, Graph], stack: str
) -> None:
    tags = _template_tags(graphs[stack], f"mlops-{stack}-gpu")
    assert tags[f"label/{scheduling.POOL_LABEL}"] == scheduling.GPU_POOL
    assert tags["taint/nvidia.com/gpu"] == "true:NoSchedule"


def test_dev_runs_on_spot_and_prod_on_demand(dev: Graph, prod: Graph) -> None:
    assert {p["inputs"]["capacityType"] for p in dev.of_type(EKS_NODE_GROUP)} == {"SPOT"}
    assert {p["inputs"]["capacityType"] for p in prod.of_type(EKS_NODE_GROUP)} == {"ON_DEMAND"}


def _template_tags(graph: Graph, pool_name: str) -> dict[str, str]:
    """The autoscaler node-template tags on `pool_name`'s Auto Scaling group."""
    prefix = "k8s.io/cluster-autoscaler/node-template/"
    return {
        t["inputs"]["tag"]["key"].removeprefix(prefix): t["inputs"]["tag"]["value"]
        for t in graph.of_type(AUTOSCALING_TAG)
        if t["name"].startswith(f"{pool_name}-template-")
    }


def _zone_of_subnet(graph: Graph) -> dict[str, str]:
    return {f"{s['name']}-id": s["inputs"]["availabilityZone"] for s in graph.of_type(EC2_SUBNET)}


@pytest.mark.parametrize("stack", STACKS)
def test_a_pod_bound_to_any_zone_has_a_system_group_that_can_add_a_node_there(
    graphs: dict[str, Graph], stack: str
) -> None:
    """Prometheus' EBS volume pins it to one zone: after a node loss the autoscaler must be
    able to add a system node in exactly that zone, so every zone has a group of its own that
    can grow, and knows (while at zero) that system pods fit it."""
    graph = graphs[stack]
    zone_of = _zone_of_subnet(graph)
    private_zones = {zone_of[subnet] for subnet in graph.outputs["privateSubnetIds"]}
    system = [
        p
        for p in graph.of_type(EKS_NODE_GROUP)
        if p["inputs"]["labels"][scheduling.POOL_LABEL] == "system"
    ]
    groups_by_zone: dict[str, list[dict[str, Any]]] = {}
    for pool in system:
        zones = {zone_of[subnet] for subnet in pool["inputs"]["subnetIds"]}
        assert len(zones) == 1, f"{pool['name']} spans {sorted(zones)}: AWS would pick the zone"
        groups_by_zone.setdefault(zones.pop(), []).append(pool)
    assert set(groups_by_zone) == private_zones
    for zone, pools in groups_by_zone.items():
        for pool in pools:
            assert pool["inputs"]["scalingConfig"]["maxSize"] >= 1, pool["name"]
            tags = _template_tags(graph, pool["name"])
            assert tags[f"label/{scheduling.POOL_LABEL}"] == scheduling.SYSTEM_POOL, (
                f"{pool['name']} ({zone}) cannot scale from zero for system pods"
            )


@pytest.mark.parametrize("stack", STACKS)
def test_system_pool_sizes_are_the_configured_totals(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    configured = document["config"]["mlops-platform:capacity"]["system"]
    system = [p for p in graph.of_type(EKS_NODE_GROUP) if "-system-" in p["name"]]
    assert sum(p["inputs"]["scalingConfig"]["minSize"] for p in system) == configured["minSize"]
    assert sum(p["inputs"]["scalingConfig"]["maxSize"] for p in system) == configured["maxSize"]


def test_prod_keeps_a_system_node_in_every_zone(prod: Graph) -> None:
    zone_of = _zone_of_subnet(prod)
    system = [p for p in prod.of_type(EKS_NODE_GROUP) if "-system-" in p["name"]]
    zones_with_a_node = {
        zone_of[p["inputs"]["subnetIds"][0]]
        for p in system
        if p["inputs"]["scalingConfig"]["minSize"] >= 1
    }
    assert len(zones_with_a_node) == len(prod.outputs["privateSubnetIds"]) == 3


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_nodes_are_known_as_gpu_nodes_before_the_device_plugin_runs(
    graphs: dict[str, Graph], stack: str
) -> None:
    """cluster-autoscaler treats a node without `k8s.amazonaws.com/accelerator` as GPU-less
    until the device plugin advertises its GPUs, and launches more nodes for the same pod."""
    graph = graphs[stack]
    labels = _gpu_pool(graph)["inputs"]["labels"]
    accelerator = labels.get(scheduling.ACCELERATOR_LABEL)
    assert accelerator and accelerator.startswith("nvidia"), labels
    tags = _template_tags(graph, f"mlops-{stack}-gpu")
    assert tags[f"label/{scheduling.ACCELERATOR_LABEL}"] == accelerator


def test_prod_training_pods_use_the_efa_their_nodes_carry(prod: Graph, dev: Graph) -> None:
    """An EFA interface is used only by a pod that requests `vpc.amazonaws.com/efa`; and the
    autoscaler scales a pool from zero for such a pod only if the node template offers it."""
    for graph, efa in ((prod, True), (dev, False)):
        cronjob = graph.manifest("CronJob", "retrain-iris-classifier")
        (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        limits = container["resources"]["limits"]
        tags = _template_tags(graph, f"mlops-{graph.stack}-gpu")
        if efa:
            assert limits.get(scheduling.EFA_RESOURCE) == "1", limits
            assert tags[f"resources/{scheduling.EFA_RESOURCE}"] == "1", tags
        else:
            assert scheduling.EFA_RESOURCE not in limits, limits
            assert f"resources/{scheduling.EFA_RESOURCE}" not in tags, tags


@pytest.mark.parametrize("stack", STACKS)
def test_every_launch_template_requires_imdsv2_and_encrypts_gp3(
    graphs: dict[str, Graph], stack: str
) -> None:
    templates = graphs[stack].of_type(EC2_LAUNCH_TEMPLATE)
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
    template_ids = {f"{t['name']}-id" for t in graph.of_type(EC2_LAUNCH_TEMPLATE)}
    for pool in graph.of_type(EKS_NODE_GROUP):
        assert pool["inputs"]["launchTemplate"]["id"] in template_ids, pool["name"]
        assert set(pool["inputs"]["subnetIds"]) <= private, pool["name"]


def test_prod_gpu_pool_packs_nodes_for_multi_node_training(prod: Graph) -> None:
    group = prod.one(EC2_PLACEMENT_GROUP)
    assert group["inputs"]["strategy"] == "cluster"
    template = prod.one(EC2_LAUNCH_TEMPLATE, "mlops-prod-gpu")["inputs"]
    assert template["networkInterfaces"][0]["interfaceType"] == "efa"
    # A cluster placement group is confined to one zone.
    assert len(_gpu_pool(prod)["inputs"]["subnetIds"]) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_device_plugin_and_autoscaler_are_pinned_helm_releases(
    graphs: dict[str, Graph], stack: str
) -> None:
    releases = {r["inputs"]["name"]: r["inputs"] for r in graphs[stack].of_type(HELM_RELEASE)}
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
        return {r["inputs"]["name"]: r["inputs"] for r in graphs[stack].of_type(HELM_RELEASE)}

    efa = releases("prod")["aws-efa-k8s-device-plugin"]
    assert efa["version"], "the chart version is pinned"
    assert efa["values"]["nodeSelector"] == scheduling.GPU_NODE_SELECTOR
    assert efa["values"]["tolerations"] == scheduling.GPU_TOLERATIONS
    assert "aws-efa-k8s-device-plugin" not in releases("dev"), "dev's GPU pool has no EFA"
