"""EKS control plane: private endpoint in prod, envelope-encrypted secrets, audit logs in prod."""

from __future__ import annotations

from collections.abc import Iterator

from infra_tools.graph import ResourceGraph
from infra_tools.guardrails.pod_slots import prefix_delegation, vpc_cni_addon_urn
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import as_list, mapping
from infra_tools.type_tokens import EKS_CLUSTER, EKS_NODE_GROUP

REQUIRED_LOG_TYPES = ("api", "audit", "authenticator")


def _private_endpoint(stack: ResourceGraph) -> Iterator[Finding]:
    if stack.environment() != "prod":
        return
    for cluster in stack.of_type(EKS_CLUSTER):
        vpc = mapping(cluster["inputs"].get("vpcConfig"))
        # Both unset means AWS's default: public on, private off.
        if (
            vpc.get("endpointPublicAccess", True) is not False
            or vpc.get("endpointPrivateAccess") is not True
        ):
            yield Finding(
                cluster,
                f"{label(cluster)} has a public API endpoint in prod; set vpc_config "
                "endpoint_private_access=True, endpoint_public_access=False "
                "(cluster.endpointPublicAccess: false)",
            )


def _secrets_encryption(stack: ResourceGraph) -> Iterator[Finding]:
    for cluster in stack.of_type(EKS_CLUSTER):
        config = mapping(cluster["inputs"].get("encryptionConfig"))
        key = mapping(config.get("provider")).get("keyArn")
        if "secrets" not in as_list(config.get("resources")) or not key:
            yield Finding(
                cluster,
                f"{label(cluster)} does not envelope-encrypt Kubernetes secrets; set "
                "encryption_config with resources=['secrets'] and a customer-managed KMS key ARN",
            )


def _control_plane_logging(stack: ResourceGraph) -> Iterator[Finding]:
    if stack.environment() != "prod":
        return
    for cluster in stack.of_type(EKS_CLUSTER):
        enabled = set(as_list(cluster["inputs"].get("enabledClusterLogTypes")))
        missing = [kind for kind in REQUIRED_LOG_TYPES if kind not in enabled]
        if missing:
            yield Finding(
                cluster,
                f"{label(cluster)} does not log {missing} in prod; add them to "
                "enabled_cluster_log_types (cluster.controlPlaneLogging: true)",
            )


def _nodes_after_prefix_delegation(stack: ResourceGraph) -> Iterator[Finding]:
    addon = vpc_cni_addon_urn(stack)
    if addon is None or not prefix_delegation(stack):
        return
    for group in stack.of_type(EKS_NODE_GROUP):
        if addon not in as_list(group.get("dependencies")):
            yield Finding(
                group,
                f"{label(group)} may launch nodes before the vpc-cni add-on enables prefix "
                "delegation, and its nodes would keep the few pod slots of single addresses; "
                "add the add-on to the node group's depends_on",
            )


RULES = (
    Rule(
        "eks-private-endpoint-prod",
        "Prod EKS API endpoints are private only.",
        "mandatory",
        _private_endpoint,
    ),
    Rule(
        "eks-secrets-encryption",
        "EKS encrypts Kubernetes secrets with a customer-managed KMS key.",
        "mandatory",
        _secrets_encryption,
    ),
    Rule(
        "eks-control-plane-logging-prod",
        "Prod EKS control planes log api, audit and authenticator events.",
        "mandatory",
        _control_plane_logging,
    ),
    Rule(
        "nodes-after-prefix-delegation",
        "Node groups launch after the vpc-cni add-on enables prefix delegation (their max pods).",
        "mandatory",
        _nodes_after_prefix_delegation,
    ),
)
