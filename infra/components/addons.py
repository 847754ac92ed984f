"""What the cluster runs for itself once nodes exist: DNS, EBS volumes, autoscaling, GPUs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components import scheduling
from infra.components.helm import KUBE_SYSTEM, chart_values, pinned_release
from infra.components.iam import (
    ClusterOidc,
    ServiceAccountRole,
    ServiceAccountRoleArgs,
    autoscaler_statements,
    policy_document,
)

# Pinned chart versions: an upgrade is a reviewed change, never a surprise at deploy time.
AUTOSCALER_CHART = ("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.46.6")
DEVICE_PLUGIN_CHART = (
    "https://nvidia.github.io/k8s-device-plugin",
    "nvidia-device-plugin",
    "0.17.1",
)
# Exposes `vpc.amazonaws.com/efa` on EFA-capable GPU nodes; without it NCCL falls back to TCP.
EFA_DEVICE_PLUGIN_CHART = (
    "https://aws.github.io/eks-charts",
    "aws-efa-k8s-device-plugin",
    "v0.5.7",
)
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
AUTOSCALER_ACCOUNT = "cluster-autoscaler"


@dataclass(frozen=True, kw_only=True)
class ClusterAddonsArgs:
    cluster_name: pulumi.Input[str]
    """The EKS cluster the add-ons are installed on."""
    kubernetes_version: str
    """Cluster minor version; cluster-autoscaler's image follows it."""
    region: str
    """Region cluster-autoscaler works in."""
    oidc: ClusterOidc
    """The cluster's IAM OIDC provider: the add-ons' IRSA roles trust it."""
    kubernetes_provider: k8s.Provider
    """Provider of the EKS cluster."""
    node_groups: Sequence[pulumi.Resource]
    """The add-ons wait for these: their pods need nodes to become healthy."""
    efa: bool
    """The GPU pool attaches Elastic Fabric Adapters: install their device plugin."""


class ClusterAddons(pulumi.ComponentResource):
    autoscaler_role_arn: pulumi.Output[str]
    ebs_csi_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:cluster:ClusterAddons", name, None, opts)
        after_nodes = pulumi.ResourceOptions(parent=self, depends_on=list(args.node_groups))
        k8s_opts = pulumi.ResourceOptions.merge(
            after_nodes, pulumi.ResourceOptions(provider=args.kubernetes_provider)
        )
        ebs_role = self._irsa(
            f"{name}-ebs-csi", args, "ebs-csi-controller-sa", managed_policy_arns=[EBS_CSI_POLICY]
        )
        coredns = self._setup_eks_addons(name, args, ebs_role, after_nodes, k8s_opts)
        # The charts' pods resolve AWS and registry names at start; a Helm release waits for
        # them to be Ready, so it must not race the cluster's DNS.
        chart_opts = pulumi.ResourceOptions.merge(
            k8s_opts, pulumi.ResourceOptions(depends_on=[coredns])
        )
        autoscaler_role = self._setup_autoscaler(name, args, chart_opts)
        self._setup_device_plugins(name, args, chart_opts)
        self.autoscaler_role_arn = autoscaler_role.role_arn
        self.ebs_csi_role_arn = ebs_role.role_arn
        self.register_outputs({})

    def _irsa(
        self,
        name: str,
        args: ClusterAddonsArgs,
        account: str,
        *,
        policy: pulumi.Input[str] | None = None,
        managed_policy_arns: Sequence[str] = (),
    ) -> ServiceAccountRole:
        return ServiceAccountRole(
            name,
            ServiceAccountRoleArgs(
                oidc=args.oidc,
                namespace=KUBE_SYSTEM,
                service_account=account,
                policy=policy,
                managed_policy_arns=managed_policy_arns,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _setup_eks_addons(
        name: str,
        args: ClusterAddonsArgs,
        ebs_role: ServiceAccountRole,
        after_nodes: pulumi.ResourceOptions,
        k8s_opts: pulumi.ResourceOptions,
    ) -> aws.eks.Addon:
        """CoreDNS, metrics-server and the EBS CSI driver with its gp3 class; returns CoreDNS."""

        def addon(addon_name: str, role_arn: pulumi.Input[str] | None = None) -> aws.eks.Addon:
            return aws.eks.Addon(
                f"{name}-{addon_name}",
                cluster_name=args.cluster_name,
                addon_name=addon_name,
                service_account_role_arn=role_arn,
                resolve_conflicts_on_create="OVERWRITE",
                opts=after_nodes,
            )

        coredns = addon("coredns")
        # The serving HPA scales on CPU, which only the metrics API reports; EKS ships no
        # metrics-server unless asked for it.
        addon("metrics-server")
        ebs = addon("aws-ebs-csi-driver", ebs_role.role_arn)
        k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=scheduling.GP3_STORAGE_CLASS,
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "fsType": "ext4"},
            # Bind in the zone the pod is scheduled in; EBS volumes are zonal.
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[ebs])),
        )
        return coredns

    def _setup_autoscaler(
        self, name: str, args: ClusterAddonsArgs, chart_opts: pulumi.ResourceOptions
    ) -> ServiceAccountRole:
        role = self._irsa(
            f"{name}-cluster-autoscaler",
            args,
            AUTOSCALER_ACCOUNT,
            policy=pulumi.Output.from_input(args.cluster_name).apply(
                lambda cluster: policy_document(autoscaler_statements(cluster))
            ),
        )
        pinned_release(
            f"{name}-cluster-autoscaler",
            "cluster-autoscaler",
            AUTOSCALER_CHART,
            pulumi.Output.all(args.cluster_name, role.role_arn).apply(
                lambda pair: chart_values(
                    "cluster-autoscaler",
                    autoscaler_values(args.region, args.kubernetes_version, pair[0], pair[1]),
                )
            ),
            chart_opts,
        )
        return role

    @staticmethod
    def _setup_device_plugins(
        name: str, args: ClusterAddonsArgs, chart_opts: pulumi.ResourceOptions
    ) -> None:
        """NVIDIA's on every GPU node (it advertises the GPUs), AWS's EFA one where EFA is on."""
        pinned_release(
            f"{name}-nvidia-device-plugin",
            "nvidia-device-plugin",
            DEVICE_PLUGIN_CHART,
            chart_values(
                "nvidia-device-plugin",
                {
                    "nodeSelector": scheduling.GPU_NODE_SELECTOR,
                    # The chart's default affinity requires node-feature-discovery labels
                    # (disabled here) or `nvidia.com/gpu.present`, which EKS never sets:
                    # left in place, the DaemonSet would run on no node and no GPU would
                    # ever be advertised. Helm replaces lists, so this term replaces them.
                    "affinity": _gpu_pool_affinity(),
                    "tolerations": scheduling.GPU_TOLERATIONS,
                },
            ),
            chart_opts,
        )
        if args.efa:
            pinned_release(
                f"{name}-efa-device-plugin",
                "aws-efa-k8s-device-plugin",
                EFA_DEVICE_PLUGIN_CHART,
                {
                    "nodeSelector": scheduling.GPU_NODE_SELECTOR,
                    "tolerations": scheduling.GPU_TOLERATIONS,
                },
                chart_opts,
            )


def autoscaler_values(
    region: str, kubernetes_version: str, cluster_name: str, role_arn: str
) -> dict[str, Any]:
    """What cluster-autoscaler's values file leaves to the stack."""
    return {
        "awsRegion": region,
        "autoDiscovery": {
            "clusterName": cluster_name,
            "tags": [
                "k8s.io/cluster-autoscaler/enabled",
                f"k8s.io/cluster-autoscaler/{cluster_name}",
            ],
        },
        # The autoscaler's minor version must match the cluster's.
        "image": {"tag": f"v{kubernetes_version}.0"},
        "nodeSelector": scheduling.SYSTEM_NODE_SELECTOR,
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": AUTOSCALER_ACCOUNT,
                "annotations": {scheduling.ROLE_ARN_ANNOTATION: role_arn},
            }
        },
    }


def _gpu_pool_affinity() -> dict[str, Any]:
    term = {"key": scheduling.POOL_LABEL, "operator": "In", "values": [scheduling.GPU_POOL]}
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [term]}]
            }
        }
    }
