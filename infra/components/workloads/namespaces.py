"""The serving, training and monitoring namespaces with Pod Security admission labels."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.workloads.common import PART_OF
from infra.contracts import MONITORING_NAMESPACE, SERVING_NAMESPACE, TRAINING_NAMESPACE

PSA = "pod-security.kubernetes.io"


def pod_security_labels(enforce: str, warn: str = "restricted") -> dict[str, str]:
    """Enforce one level; warn and audit at `warn`, so a looser namespace still shows drift."""
    return {
        f"{PSA}/enforce": enforce,
        f"{PSA}/enforce-version": "latest",
        f"{PSA}/warn": warn,
        f"{PSA}/warn-version": "latest",
        f"{PSA}/audit": warn,
        f"{PSA}/audit-version": "latest",
    }


# Exception: node-exporter (kube-prometheus-stack) needs hostNetwork, hostPID and hostPath
# mounts, which no Pod Security level below `privileged` admits. Warnings still report
# every pod there that would fail `restricted`.
_LEVELS = {
    SERVING_NAMESPACE: "restricted",
    TRAINING_NAMESPACE: "restricted",
    MONITORING_NAMESPACE: "privileged",
}


@dataclass(frozen=True, kw_only=True)
class NamespacesArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster the namespaces live in."""


class Namespaces(pulumi.ComponentResource):
    serving: pulumi.Output[str]
    training: pulumi.Output[str]
    monitoring: pulumi.Output[str]

    def __init__(
        self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:workloads:Namespaces", name, None, opts)
        child = pulumi.ResourceOptions(provider=args.k8s_provider, parent=self)
        created: dict[str, k8s.core.v1.Namespace] = {}
        for namespace, level in _LEVELS.items():
            created[namespace] = k8s.core.v1.Namespace(
                f"{name}-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=namespace,
                    labels={"app.kubernetes.io/part-of": PART_OF, **pod_security_labels(level)},
                ),
                opts=child,
            )
        # Outputs (not the constants) so that dependents wait for the namespace to exist.
        self.serving = created[SERVING_NAMESPACE].metadata.apply(lambda m: m.name or "")
        self.training = created[TRAINING_NAMESPACE].metadata.apply(lambda m: m.name or "")
        self.monitoring = created[MONITORING_NAMESPACE].metadata.apply(lambda m: m.name or "")
        self.register_outputs(
            {"serving": self.serving, "training": self.training, "monitoring": self.monitoring}
        )
