"""Pieces every workload shares: labels, the hardened security context, images, resources."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.config.workloads import ResourcesConfig

PART_OF = "mlops-platform"
# The app image runs as this non-root user (app/Dockerfile); numeric so that
# runAsNonRoot can be verified by the kubelet without reading /etc/passwd.
APP_UID = 10001
# Metrics and API share one port on the app; the trigger listens on its own.
APP_PORT = 8080
TMP_VOLUME = "tmp"


def labels(name: str, component: str) -> dict[str, str]:
    """Recommended labels; `name` + `component` also serve as the pod selector."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector(name: str, component: str) -> dict[str, str]:
    """The immutable subset of `labels` a Deployment/Service selects on."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


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
    config: ResourcesConfig, extra_limits: dict[str, str] | None = None
) -> k8s.core.v1.ResourceRequirementsArgs:
    extra = extra_limits or {}
    return k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": config.cpu_request, "memory": config.memory_request, **extra},
        limits={"cpu": config.cpu_limit, "memory": config.memory_limit, **extra},
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
