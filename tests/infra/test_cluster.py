"""The EKS control plane and its add-ons, per stack."""

from __future__ import annotations

import pytest

from tests.infra.graph import Graph

CLUSTER = "aws:eks/cluster:Cluster"


def test_prod_api_endpoint_is_private(prod: Graph) -> None:
    vpc = prod.one(CLUSTER)["inputs"]["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False


def test_dev_public_endpoint_admits_only_listed_ranges(dev: Graph) -> None:
    vpc = dev.one(CLUSTER)["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"], "a public endpoint must list its allowed ranges"
    assert "0.0.0.0/0" not in vpc["publicAccessCidrs"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_runs_in_private_subnets_with_kms_encrypted_secrets(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    inputs = graph.one(CLUSTER)["inputs"]
    assert inputs["version"] == "1.33"
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert inputs["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert inputs["vpcConfig"]["subnetIds"] == graph.outputs["privateSubnetIds"]


def test_prod_ships_control_plane_logs_and_is_deletion_protected(prod: Graph, dev: Graph) -> None:
    prod_inputs = prod.one(CLUSTER)["inputs"]
    assert {"api", "audit", "authenticator"} <= set(prod_inputs["enabledClusterLogTypes"])
    assert prod_inputs["deletionProtection"] is True
    assert dev.one(CLUSTER)["inputs"]["deletionProtection"] is False


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_managed_addons_are_installed(graphs: dict[str, Graph], stack: str) -> None:
    names = {a["inputs"]["addonName"] for a in graphs[stack].of_type("aws:eks/addon:Addon")}
    assert names == {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"}
    ebs = next(
        a
        for a in graphs[stack].of_type("aws:eks/addon:Addon")
        if a["inputs"]["addonName"] == "aws-ebs-csi-driver"
    )
    assert ebs["inputs"]["serviceAccountRoleArn"].startswith("arn:aws:iam::")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_irsa_oidc_provider_trusts_sts(graphs: dict[str, Graph], stack: str) -> None:
    oidc = graphs[stack].one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc["inputs"]["clientIdLists"] == ["sts.amazonaws.com"]
    assert oidc["inputs"]["url"].startswith("https://oidc.eks.")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_gp3_storage_class_is_encrypted(graphs: dict[str, Graph], stack: str) -> None:
    storage_class = graphs[stack].manifest("StorageClass", "gp3-encrypted")
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"] == {"type": "gp3", "encrypted": "true", "fsType": "ext4"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_outputs_are_exported_and_kubeconfig_is_secret(
    graphs: dict[str, Graph], stack: str
) -> None:
    outputs = graphs[stack].outputs
    for key in (
        "clusterName",
        "clusterEndpoint",
        "servingRoleArn",
        "trainingRoleArn",
        "gpuNodePoolName",
    ):
        assert outputs.get(key), f"stack {stack}: output {key} missing"
    assert outputs["kubeconfig"] == "[secret]"


def test_local_stack_declares_no_cluster(local: Graph) -> None:
    assert not [r for r in local.resources if r["type"].startswith(("aws:eks/", "kubernetes:"))]
    assert "clusterName" not in local.outputs and "kubeconfig" not in local.outputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_kubernetes_resources_use_the_clusters_provider(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    provider = graph.one("pulumi:providers:kubernetes")
    for resource in graph.resources:
        if resource["type"].startswith("kubernetes:") and resource["custom"]:
            assert (resource["provider"] or "").startswith(provider["urn"]), resource["name"]
