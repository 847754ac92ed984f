"""How clients reach the model server: a Network Load Balancer (or none) and the NetworkPolicy.

The load balancer is provisioned by the service controller EKS runs in its control plane
(the in-tree `service.beta.kubernetes.io/aws-load-balancer-*` annotations), so no AWS Load
Balancer Controller has to be installed. It registers nodes as targets and, with
`externalTrafficPolicy: Local`, keeps the client's source address, which is what lets the
NetworkPolicy admit exactly the load balancer's clients.

Mode `clusterIp` (dev) declares no load balancer: the ClusterIP Service is reached with
`kubectl port-forward` or, through pod IPs, from inside the VPC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from infra.components.workloads import common

if TYPE_CHECKING:
    from infra.components.workloads.serving import ServingArgs

LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer"
PLAIN_HTTP_ACCEPTED = "mlops-platform/plain-http-accepted"
"""On a load balancer without TLS whose stack file accepts that (app.exposure.allowPlainHttp),
so a reviewer and the guardrails see the decision on the resource itself."""
ANYWHERE = "0.0.0.0/0"


def client_cidrs(args: ServingArgs) -> list[str]:
    """Where load-balancer clients come from: the VPC, plus the configured public ranges."""
    exposure = args.app.exposure
    if exposure.mode in ("internal", "clusterIp"):
        return [args.vpc_cidr, *exposure.source_cidrs]
    return [args.vpc_cidr, *(exposure.source_cidrs or [ANYWHERE])]


def load_balancer_service(
    name: str,
    args: ServingArgs,
    labels: dict[str, str],
    selector: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Service | None:
    """The Service of type LoadBalancer; None in mode clusterIp, which has no load balancer."""
    exposure = args.app.exposure
    if exposure.mode == "clusterIp":
        return None
    annotations: dict[str, pulumi.Input[str]] = {
        f"{LB_ANNOTATION}-type": "nlb",
        f"{LB_ANNOTATION}-internal": "true" if exposure.mode == "internal" else "false",
    }
    port = 80
    if exposure.certificate_arn is not None:
        # TLS ends at the NLB with the ACM certificate; the hop to the pod stays in the VPC.
        annotations[f"{LB_ANNOTATION}-ssl-cert"] = exposure.certificate_arn
        annotations[f"{LB_ANNOTATION}-ssl-ports"] = "https"
        port = 443
    elif exposure.allow_plain_http:
        annotations[PLAIN_HTTP_ACCEPTED] = "true"
    return k8s.core.v1.Service(
        f"{name}-nlb",
        metadata=common.metadata(
            "model-server-nlb",
            args.namespace,
            common.labels("model-server-nlb", labels["app.kubernetes.io/component"]),
            annotations,
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="LoadBalancer",
            selector=selector,
            external_traffic_policy="Local",
            load_balancer_source_ranges=client_cidrs(args),
            ports=[
                k8s.core.v1.ServicePortArgs(
                    name="https" if port == 443 else "http",
                    port=port,
                    target_port="http",
                    protocol="TCP",
                )
            ],
        ),
        opts=opts,
    )


def serving_network_policy(
    name: str,
    args: ServingArgs,
    labels: dict[str, str],
    selector: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    """Ingress from the load balancer's clients and Prometheus only; egress DNS and HTTPS."""
    http = [k8s.networking.v1.NetworkPolicyPortArgs(port="http", protocol="TCP")]
    from_monitoring = k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_labels={"kubernetes.io/metadata.name": args.monitoring_namespace}
        )
    )
    from_clients = [
        k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
        for cidr in client_cidrs(args)
    ]
    return k8s.networking.v1.NetworkPolicy(
        f"{name}-netpol",
        metadata=common.metadata("model-server", args.namespace, labels),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            policy_types=["Ingress", "Egress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[from_monitoring], ports=http),
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=from_clients, ports=http),
            ],
            egress=egress_dns_and_https(),
        ),
        opts=opts,
    )


def egress_dns_and_https() -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """Cluster DNS, and HTTPS anywhere (S3, STS and KMS endpoints have no fixed addresses)."""
    return [
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={"kubernetes.io/metadata.name": "kube-system"}
                    )
                )
            ],
            ports=[
                k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="UDP"),
                k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="TCP"),
            ],
        ),
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=443, protocol="TCP")]
        ),
    ]
