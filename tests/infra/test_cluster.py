"""The EKS control plane and its add-ons, per stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.components.cluster import kubeconfig
from infra_tools.type_tokens import (
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_PREFIX,
    HELM_RELEASE,
    IAM_OIDC_PROVIDER,
    KUBERNETES_PREFIX,
    KUBERNETES_PROVIDER,
)
from tests.infra.graph import Graph


def test_prod_api_endpoint_is_private(prod: Graph) -> None:
    vpc = prod.one(EKS_CLUSTER)["inputs"]["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False


def test_dev_public_endpoint_admits_only_listed_ranges(dev: Graph) -> None:
    vpc = dev.one(EKS_CLUSTER)["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"], "a public endpoint must list its allowed ranges"
    assert "0.0.0.0/0" not in vpc["publicAccessCidrs"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_runs_in_private_subnets_with_kms_encrypted_secrets(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    inputs = graph.one(EKS_CLUSTER)["inputs"]
    assert inputs["version"] == "1.33"
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert inputs["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert inputs["vpcConfig"]["subnetIds"] == graph.outputs["privateSubnetIds"]


def test_prod_ships_control_plane_logs_and_is_deletion_protected(prod: Graph, dev: Graph) -> None:
    prod_inputs = prod.one(EKS_CLUSTER)["inputs"]
    assert {"api", "audit", "authenticator"} <= set(prod_inputs["enabledClusterLogTypes"])
    assert prod_inputs["deletionProtection"] is True
    assert dev.one(EKS_CLUSTER)["inputs"]["deletionProtection"] is False


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_managed_addons_are_installed(graphs: dict[str, Graph], stack: str) -> None:
    names = {a["inputs"]["addonName"] for a in graphs[stack].of_type(EKS_ADDON)}
    assert names == {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "metrics-server"}
    ebs = next(
        a
        for a in graphs[stack].of_type(EKS_ADDON)
        if a["inputs"]["addonName"] == "aws-ebs-csi-driver"
    )
    assert ebs["inputs"]["serviceAccountRoleArn"].startswith("arn:aws:iam::")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_irsa_oidc_provider_trusts_sts(graphs: dict[str, Graph], stack: str) -> None:
    oidc = graphs[stack].one(IAM_OIDC_PROVIDER)
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
    assert not [r for r in local.resources if r["type"].startswith((EKS_PREFIX, KUBERNETES_PREFIX))]
    assert "clusterName" not in local.outputs and "kubeconfig" not in local.outputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_kubernetes_resources_use_the_clusters_provider(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    provider = graph.one(KUBERNETES_PROVIDER)
    for resource in graph.resources:
        if resource["type"].startswith(KUBERNETES_PREFIX) and resource["custom"]:
            assert (resource["provider"] or "").startswith(provider["urn"]), resource["name"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_helm_releases_wait_for_cluster_dns(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    coredns = next(r for r in graph.of_type(EKS_ADDON) if r["inputs"]["addonName"] == "coredns")
    releases = [r for r in graph.of_type(HELM_RELEASE) if ":ClusterAddons$" in r["urn"]]
    assert releases, f"stack {stack}: no cluster add-on Helm releases"
    for release in releases:
        assert coredns["urn"] in release["dependencies"], release["name"]


def test_kubeconfig_token_command_uses_the_stacks_region_and_profile() -> None:
    def user(config: str) -> dict[str, Any]:
        return json.loads(config)["users"][0]["user"]["exec"]

    with_profile = user(kubeconfig("mlops-dev", "https://api", "Q0E=", "eu-west-1", "ops"))
    assert with_profile["command"] == "aws"
    assert with_profile["args"][:4] == ["eks", "get-token", "--cluster-name", "mlops-dev"]
    assert "eu-west-1" in with_profile["args"]
    # Without it, `aws eks get-token` signs in as the default identity, not the deploying one.
    assert {"name": "AWS_PROFILE", "value": "ops"} in with_profile["env"]
    # CI has no profile: the standard credential chain, untouched.
    assert "env" not in user(kubeconfig("mlops-dev", "https://api", "Q0E=", "eu-west-1"))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_network_policies_are_enforced_and_the_metrics_api_exists(
    stack: str, graphs: dict[str, Graph]
) -> None:
    addons = {a["inputs"]["addonName"]: a["inputs"] for a in graphs[stack].of_type(EKS_ADDON)}
    cni = json.loads(addons["vpc-cni"].get("configurationValues", "{}"))
    assert cni.get("enableNetworkPolicy") == "true", "NetworkPolicies would be ignored"
    assert "metrics-server" in addons, "the serving HPA has no CPU metrics to scale on"
