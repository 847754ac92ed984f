"""How clients reach the model server: a Network Load Balancer (or none), and who its clients are.

The load balancer is provisioned by the service controller EKS runs in its control plane
(the in-tree `service.beta.kubernetes.io/aws-load-balancer-*` annotations), so no AWS Load
Balancer Controller has to be installed. It registers nodes as targets and, with
`externalTrafficPolicy: Local`, keeps the client's source address, which is what lets the
NetworkPolicy admit exactly the load balancer's clients.

Mode `clusterIp` (dev) declares no load balancer: the ClusterIP Service is reached with
`kubectl port-forward` or, through pod IPs, from inside the VPC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from infra.components.workloads import common
from infra.contracts import HTTP_PORT_NAME, MODEL_LABEL, MODEL_SERVER

LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer"
PLAIN_HTTP_ACCEPTED = "mlops-platform/plain-http-accepted"
"""On a load balancer without TLS whose stack file accepts that (app.exposure.allowPlainHttp),
so a reviewer and the guardrails see the decision on the resource itself."""
ANYWHERE = "0.0.0.0/0"
LOAD_BALANCER = f"{MODEL_SERVER}-nlb"
"""The load balancers' `app.kubernetes.io/name`, the same for every model; each model's
Service is named `contracts.model_load_balancer(model)`."""


@dataclass(frozen=True, kw_only=True)
class Exposure:
    """How clients reach the model server."""

    mode: Literal["internal", "public", "clusterIp"]
    """An NLB inside the VPC, one on the internet (TLS), or no load balancer."""
    certificate_arn: str | None
    """ACM certificate the NLB terminates TLS with; None serves plain HTTP."""
    source_cidrs: Sequence[str]
    """Client ranges admitted besides the VPC; empty on a public NLB means anywhere."""
    allow_plain_http: bool
    """An internal NLB without TLS was accepted in the stack file: say so on the Service."""
    vpc_cidr: str
    """The VPC's range, whose hosts are always clients."""


def client_cidrs(exposure: Exposure) -> list[str]:
    """Where load-balancer clients come from: the VPC, plus the configured public ranges."""
    if exposure.mode in ("internal", "clusterIp"):
        return [exposure.vpc_cidr, *exposure.source_cidrs]
    return [exposure.vpc_cidr, *(exposure.source_cidrs or [ANYWHERE])]


def _annotations(exposure: Exposure) -> dict[str, pulumi.Input[str]]:
    annotations: dict[str, pulumi.Input[str]] = {
        f"{LB_ANNOTATION}-type": "nlb",
        f"{LB_ANNOTATION}-internal": "true" if exposure.mode == "internal" else "false",
    }
    if exposure.certificate_arn is not None:
        # TLS ends at the NLB with the ACM certificate; the hop to the pod stays in the VPC.
        annotations[f"{LB_ANNOTATION}-ssl-cert"] = exposure.certificate_arn
        annotations[f"{LB_ANNOTATION}-ssl-ports"] = "https"
    elif exposure.allow_plain_http:
        annotations[PLAIN_HTTP_ACCEPTED] = "true"
    return annotations


def load_balancer_service(
    name: str,
    exposure: Exposure,
    namespace: pulumi.Input[str],
    selector: dict[str, str],
    opts: pulumi.ResourceOptions,
    *,
    object_name: str,
) -> k8s.core.v1.Service | None:
    """The Service of type LoadBalancer named `object_name`, for the pods of `selector`; None
    in mode clusterIp, which has no load balancer."""
    if exposure.mode == "clusterIp":
        return None
    tls = exposure.certificate_arn is not None
    labels = common.labels(
        LOAD_BALANCER, selector[common.COMPONENT_LABEL], selector.get(MODEL_LABEL)
    )
    return k8s.core.v1.Service(
        f"{name}-nlb",
        metadata=common.metadata(object_name, namespace, labels, _annotations(exposure)),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="LoadBalancer",
            selector=selector,
            external_traffic_policy="Local",
            load_balancer_source_ranges=client_cidrs(exposure),
            ports=[
                k8s.core.v1.ServicePortArgs(
                    name="https" if tls else HTTP_PORT_NAME,
                    port=443 if tls else 80,
                    target_port=HTTP_PORT_NAME,
                    protocol="TCP",
                )
            ],
        ),
        opts=opts,
    )


def client_peers(exposure: Exposure) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
    """The load balancer's clients, as NetworkPolicy peers (the NLB keeps their addresses)."""
    return [
        k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
        for cidr in client_cidrs(exposure)
    ]
