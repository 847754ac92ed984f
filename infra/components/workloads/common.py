"""Pieces every workload shares: labels, the hardened security context, images, resources."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import ROLE_ARN_ANNOTATION
from infra.contracts import HTTP_PORT_NAME, MODEL_LABEL

PART_OF = "mlops-platform"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
# The app image runs as this non-root user (app/Dockerfile); numeric so that
# runAsNonRoot can be verified by the kubelet without reading /etc/passwd.
APP_UID = 10001
TMP_VOLUME = "tmp"
ZONE_KEY = "topology.kubernetes.io/zone"


@dataclass(frozen=True, kw_only=True)
class PodResources:
    """Requests and limits of one container, as Kubernetes quantities."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    """The container is OOM-killed above it."""


JOB_TTL_SECONDS = 3 * 24 * 3600
"""How long a finished Job (and its pods' logs) is kept: a weekend's failures can still be
read on Monday."""


def labels(name: str, component: str, model: str | None = None) -> dict[str, str]:
    """Recommended labels; `name` + `component` (+ the model, for one model's workload) also
    serve as the pod selector."""
    return {
        **selector(name, component, model),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector(name: str, component: str, model: str | None = None) -> dict[str, str]:
    """The immutable subset of `labels` a Deployment/Service selects on."""
    return {NAME_LABEL: name, COMPONENT_LABEL: component, **model_selector(model)}


def model_selector(model: str | None) -> dict[str, str]:
    """The model label alone, or nothing for a workload every model shares."""
    return {MODEL_LABEL: model} if model is not None else {}


def image(repository_url: pulumi.Input[str], reference: str) -> pulumi.Output[str]:
    """`<repo>:<tag>`, or `<repo>@sha256:...` when the reference is a digest."""
    separator = "@" if reference.startswith("sha256:") else ":"
    return pulumi.Output.concat(repository_url, separator, reference)


def pod_security_context() -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=APP_UID,
        run_as_group=APP_UID,
        fs_group=APP_UID,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    """What Pod Security `restricted` demands, plus a read-only root filesystem."""
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def tmp_volume(size_limit: str = "256Mi") -> k8s.core.v1.VolumeArgs:
    """Writable scratch space, since the root filesystem is read-only."""
    return k8s.core.v1.VolumeArgs(
        name=TMP_VOLUME, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=size_limit)
    )


def tmp_mount() -> k8s.core.v1.VolumeMountArgs:
    return k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path="/tmp")  # noqa: S108


def resources(
    pod: PodResources, extra_limits: dict[str, str] | None = None
) -> k8s.core.v1.ResourceRequirementsArgs:
    extra = extra_limits or {}
    return k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": pod.cpu_request, "memory": pod.memory_request, **extra},
        limits={"cpu": pod.cpu_limit, "memory": pod.memory_limit, **extra},
    )


def http_probe(path: str, *, period: int, failures: int | None = None) -> k8s.core.v1.ProbeArgs:
    """GET `path` on the container's `http` port, with a 2-second timeout."""
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=HTTP_PORT_NAME),
        period_seconds=period,
        timeout_seconds=2,
        failure_threshold=failures,
    )


def irsa_service_account(
    resource_name: str,
    account: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    role_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.ServiceAccount:
    """A ServiceAccount bound to an IAM role (IRSA), with no Kubernetes API token: its pods get
    the web-identity token from the EKS webhook and never need to talk to the API."""
    return k8s.core.v1.ServiceAccount(
        resource_name,
        metadata=metadata(account, namespace, labels, annotations={ROLE_ARN_ANNOTATION: role_arn}),
        automount_service_account_token=False,
        opts=opts,
    )


def metadata(
    name: str,
    namespace: pulumi.Input[str],
    labels_: dict[str, str],
    annotations: dict[str, pulumi.Input[str]] | None = None,
) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name=name, namespace=namespace, labels=labels_, annotations=annotations
    )


def zone_spread(labels: dict[str, str]) -> list[k8s.core.v1.TopologySpreadConstraintArgs]:
    """Hard across zones, soft across nodes, for the pods of `labels`' workload."""
    # One model's pods spread among themselves; two models' pods may share a node.
    keys = (NAME_LABEL, MODEL_LABEL)
    match = k8s.meta.v1.LabelSelectorArgs(match_labels={k: labels[k] for k in keys if k in labels})
    return [
        # Hard across zones: losing one zone never takes all replicas.
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key=ZONE_KEY,
            when_unsatisfiable="DoNotSchedule",
            label_selector=match,
        ),
        # Soft across nodes: prefer different nodes, but never block a scale-up on it.
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key="kubernetes.io/hostname",
            when_unsatisfiable="ScheduleAnyway",
            label_selector=match,
        ),
    ]
