"""Who may talk to a workload, and where it may go: one NetworkPolicy per workload.

The VPC CNI enforces them (`enableNetworkPolicy` in cluster.py). Every workload may reach the
cluster's DNS and HTTPS anywhere (S3, STS and KMS endpoints have no fixed addresses).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from infra.components.workloads import common
from infra.contracts import MODEL_LABEL, MONITORING_NAMESPACE, PROMETHEUS_PORT

Peer = k8s.networking.v1.NetworkPolicyPeerArgs
Ingress = k8s.networking.v1.NetworkPolicyIngressRuleArgs
Egress = k8s.networking.v1.NetworkPolicyEgressRuleArgs


def namespace_peer(namespace: str) -> Peer:
    """Every pod of `namespace`."""
    return Peer(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_labels={"kubernetes.io/metadata.name": namespace}
        )
    )


def same_workload(selector: dict[str, str]) -> Peer:
    """The other pods of the workload itself."""
    return Peer(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector))


def allow_from(peers: Sequence[Peer], port: int | str | None = None) -> Ingress:
    """Ingress from `peers`: on one TCP port (a number or a container port's name), or any."""
    ports = (
        None
        if port is None
        else [k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol="TCP")]
    )
    return Ingress(from_=list(peers), ports=ports)


def allow_monitoring(port: int | str) -> Ingress:
    """From the monitoring namespace: Prometheus scrapes, Alertmanager posts alerts."""
    return allow_from([namespace_peer(MONITORING_NAMESPACE)], port)


def allow_to(peers: Sequence[Peer]) -> Egress:
    """Egress to `peers`, on any port."""
    return Egress(to=list(peers))


def egress_to_prometheus() -> Egress:
    """The monitoring namespace's pods on Prometheus' port: a client querying its API."""
    return Egress(
        to=[namespace_peer(MONITORING_NAMESPACE)],
        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=PROMETHEUS_PORT, protocol="TCP")],
    )


def egress_dns_and_https() -> list[Egress]:
    """Cluster DNS, and HTTPS anywhere."""
    return [
        Egress(
            to=[namespace_peer("kube-system")],
            ports=[
                k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="UDP"),
                k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="TCP"),
            ],
        ),
        Egress(ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=443, protocol="TCP")]),
    ]


def network_policy(
    resource_name: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    *,
    ingress: Sequence[Ingress],
    egress: Sequence[Egress],
    opts: pulumi.ResourceOptions,
    object_name: str | None = None,
) -> k8s.networking.v1.NetworkPolicy:
    """The workload's policy: named after it (or `object_name`) and selecting by its labels,
    the model's too for one model's workload; all else is denied."""
    name, component = labels[common.NAME_LABEL], labels[common.COMPONENT_LABEL]
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=common.metadata(object_name or name, namespace, labels),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels=common.selector(name, component, labels.get(MODEL_LABEL))
            ),
            policy_types=["Ingress", "Egress"],
            ingress=list(ingress),
            egress=list(egress),
        ),
        opts=opts,
    )
