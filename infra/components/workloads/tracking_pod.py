"""The MLflow tracking server on the cluster: its pod (container, probes, volumes, environment),
Deployment and Service specs, and who may talk to it.

Pure builders (no resource is declared here); `infra.components.tracking` declares them.
The image's entrypoint (images/tracking/entrypoint.py) reads the `TRACKING_*` variables, fetches
the database password from the RDS-managed secret and starts `mlflow server`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import SYSTEM_NODE_SELECTOR
from infra.components.workloads import common
from infra.components.workloads.network_policies import (
    Egress,
    Ingress,
    allow_from,
    allow_monitoring,
    egress_dns_and_https,
    namespace_peer,
)
from infra.contracts import (
    HTTP_PORT_NAME,
    MLFLOW_ARTIFACT_PREFIX,
    TRACKING_HOST,
    TRACKING_NAMESPACE,
    TRACKING_PORT,
    TRACKING_SERVER,
    TRAINING_NAMESPACE,
)

METRICS_DIR = "/var/run/mlflow-metrics"
"""Where the server processes keep their Prometheus samples (an emptyDir: `--expose-prometheus`
needs a writable directory, and the root filesystem is read-only)."""
METRICS_VOLUME = "metrics"
HEALTH_PATH = "/health"
"""MLflow's own liveness route: answers without touching the database."""
DATABASE_CHECK_PATH = "/api/2.0/mlflow/experiments/get?experiment_id=0"
"""Reads the default experiment, so it fails once the server can no longer open a database
connection (e.g. after the RDS-managed password was rotated): the kubelet then restarts the
container, and the entrypoint reads the new password."""
PROBE_HOST = "localhost"
"""Host header of the database probe: MLflow refuses Host headers it does not know (DNS
rebinding protection), and exempts only /health."""


def allowed_hosts() -> list[str]:
    """Host headers the server accepts: its Service's names (with and without the port) and
    localhost (`kubectl port-forward`, the probes). The entrypoint adds the pod's own address
    for Prometheus, which scrapes pods by IP."""
    names = [
        TRACKING_SERVER,
        f"{TRACKING_SERVER}.{TRACKING_NAMESPACE}",
        f"{TRACKING_SERVER}.{TRACKING_NAMESPACE}.svc",
        TRACKING_HOST,
    ]
    local = ["localhost", "127.0.0.1"]
    return [*names, *(f"{name}:{TRACKING_PORT}" for name in names), *local, "localhost:*"]


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """What the container is started with."""

    image: pulumi.Input[str]
    region: str
    bucket: pulumi.Input[str]
    workers: int
    secret_arn: pulumi.Input[str]
    db_host: pulumi.Input[str]
    db_port: pulumi.Input[int]
    db_name: str
    resources: common.PodResources


POOL_RECYCLE_SECONDS = 280


def _env(settings: ServerSettings) -> list[k8s.core.v1.EnvVarArgs]:
    plain: dict[str, pulumi.Input[str]] = {
        "TRACKING_DB_SECRET_ARN": settings.secret_arn,
        "TRACKING_DB_HOST": settings.db_host,
        "TRACKING_DB_PORT": pulumi.Output.from_input(settings.db_port).apply(str),
        "TRACKING_DB_NAME": settings.db_name,
        # Only the server touches its artifact store: clients upload and download through it.
        "TRACKING_ARTIFACTS_DESTINATION": pulumi.Output.concat(
            "s3://", settings.bucket, "/", MLFLOW_ARTIFACT_PREFIX.rstrip("/")
        ),
        "TRACKING_ALLOWED_HOSTS": ",".join(allowed_hosts()),
        "TRACKING_PORT": str(TRACKING_PORT),
        "TRACKING_WORKERS": str(settings.workers),
        "TRACKING_METRICS_DIR": METRICS_DIR,
        "AWS_DEFAULT_REGION": settings.region,
        # Pooled connections are reopened every few minutes: after RDS rotates the password,
        # the next one fails to log in, the liveness probe (it reads the database) fails,
        # and the restarted pod's entrypoint reads the new secret.
        "MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE": str(POOL_RECYCLE_SECONDS),
        # MLflow and its libraries write caches under $HOME; the root filesystem is read-only.
        "HOME": "/tmp",  # noqa: S108
    }
    pod_ip = k8s.core.v1.EnvVarArgs(
        name="POD_IP",
        value_from=k8s.core.v1.EnvVarSourceArgs(
            field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="status.podIP")
        ),
    )
    return [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(plain.items())] + [pod_ip]


def _probe(path: str, *, period: int, failures: int, host: bool = False) -> k8s.core.v1.ProbeArgs:
    headers = [k8s.core.v1.HTTPHeaderArgs(name="Host", value=PROBE_HOST)] if host else None
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(
            path=path, port=HTTP_PORT_NAME, http_headers=headers
        ),
        period_seconds=period,
        timeout_seconds=5,
        failure_threshold=failures,
    )


def container(settings: ServerSettings) -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        name=TRACKING_SERVER,
        image=settings.image,
        image_pull_policy="IfNotPresent",
        env=_env(settings),
        ports=[
            k8s.core.v1.ContainerPortArgs(
                name=HTTP_PORT_NAME, container_port=TRACKING_PORT, protocol="TCP"
            )
        ],
        # The first start creates MLflow's tables; the startup probe gives it minutes.
        startup_probe=_probe(HEALTH_PATH, period=5, failures=60),
        readiness_probe=_probe(HEALTH_PATH, period=10, failures=3),
        liveness_probe=_probe(DATABASE_CHECK_PATH, period=30, failures=3, host=True),
        resources=common.resources(settings.resources),
        security_context=common.container_security_context(),
        volume_mounts=[
            common.tmp_mount(),
            k8s.core.v1.VolumeMountArgs(name=METRICS_VOLUME, mount_path=METRICS_DIR),
        ],
    )


def pod_spec(
    settings: ServerSettings, account: pulumi.Input[str], labels: dict[str, str], spread: bool
) -> k8s.core.v1.PodSpecArgs:
    return k8s.core.v1.PodSpecArgs(
        service_account_name=account,
        automount_service_account_token=False,
        security_context=common.pod_security_context(),
        node_selector=SYSTEM_NODE_SELECTOR,
        topology_spread_constraints=common.zone_spread(labels) if spread else None,
        termination_grace_period_seconds=30,
        containers=[container(settings)],
        volumes=[
            common.tmp_volume(),
            k8s.core.v1.VolumeArgs(
                name=METRICS_VOLUME,
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi"),
            ),
        ],
    )


def deployment_spec(
    settings: ServerSettings, account: pulumi.Input[str], labels: dict[str, str], replicas: int
) -> k8s.apps.v1.DeploymentSpecArgs:
    """A fixed number of replicas (no autoscaling: load is a few training jobs and people),
    rolled one at a time without going below it; spread over zones when there are several."""
    return k8s.apps.v1.DeploymentSpecArgs(
        replicas=replicas,
        selector=k8s.meta.v1.LabelSelectorArgs(
            match_labels=common.selector(labels[common.NAME_LABEL], labels[common.COMPONENT_LABEL])
        ),
        strategy=k8s.apps.v1.DeploymentStrategyArgs(
            type="RollingUpdate",
            rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
        ),
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
            spec=pod_spec(settings, account, labels, spread=replicas > 1),
        ),
    )


def service_spec(selector: dict[str, str]) -> k8s.core.v1.ServiceSpecArgs:
    """ClusterIP only: reached from the cluster (TRACKING_URI) or through port-forward."""
    return k8s.core.v1.ServiceSpecArgs(
        type="ClusterIP",
        selector=selector,
        ports=[
            k8s.core.v1.ServicePortArgs(
                name=HTTP_PORT_NAME, port=TRACKING_PORT, target_port=HTTP_PORT_NAME, protocol="TCP"
            )
        ],
    )


def network_rules(vpc_cidr: str, postgres_port: int) -> tuple[list[Ingress], list[Egress]]:
    """In: training jobs (log runs, promote models) and Prometheus. Out: DNS, HTTPS (S3, STS,
    Secrets Manager) and PostgreSQL inside the VPC."""
    postgres = Egress(
        to=[
            k8s.networking.v1.NetworkPolicyPeerArgs(
                ip_block=k8s.networking.v1.IPBlockArgs(cidr=vpc_cidr)
            )
        ],
        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=postgres_port, protocol="TCP")],
    )
    ingress = [
        allow_from([namespace_peer(TRAINING_NAMESPACE)], HTTP_PORT_NAME),
        allow_monitoring(HTTP_PORT_NAME),
    ]
    return ingress, [postgres, *egress_dns_and_https()]
