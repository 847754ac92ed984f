"""One model's serving workload: its Deployment, Services, NetworkPolicy, autoscaling and
disruption budget, all named `model-server-<model>` and selecting its pods by the model label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import SYSTEM_NODE_SELECTOR
from infra.components.workloads import common
from infra.components.workloads.exposure import client_peers, load_balancer_service
from infra.components.workloads.models import ModelSpec, model_settings
from infra.components.workloads.network_policies import (
    allow_from,
    allow_monitoring,
    egress_dns_and_https,
    network_policy,
)
from infra.components.workloads.serving_secrets import SECRETS_VOLUME, secrets_volume
from infra.components.workloads.settings_env import memory_limit_env, settings_env
from infra.contracts import (
    API_KEYS_FILE_NAME,
    HEALTH_PATH,
    HTTP_PORT,
    HTTP_PORT_NAME,
    MODEL_SERVER,
    PREDICTION_ID_KEY_FILE_NAME,
    READY_PATH,
    SECRETS_DIR,
    model_load_balancer,
    model_server,
)

if TYPE_CHECKING:
    from infra.components.workloads.serving import ServingArgs

COMPONENT = "serving"
Secrets = tuple[k8s.core.v1.Secret, k8s.core.v1.Secret]


@dataclass(frozen=True, kw_only=True)
class ServedModel:
    """One model's serving workload."""

    spec: ModelSpec
    """The model: name, alias and dataset."""
    min_replicas: int
    """Fewest pods the HPA keeps."""
    max_replicas: int
    """Most pods the HPA scales to."""
    resources: common.PodResources
    """Requests and limits of each pod."""
    capture_sample_rate: float
    """Share of predictions captured to `captures/` (MLOPS_CAPTURE_SAMPLE_RATE)."""


def declare_model_server(
    name: str,
    args: ServingArgs,
    model: ServedModel,
    account: k8s.core.v1.ServiceAccount,
    secrets: Secrets,
    opts: pulumi.ResourceOptions,
) -> None:
    """Everything one model serves with: Deployment, ClusterIP Service, load balancer (per
    the exposure), NetworkPolicy, autoscaling."""
    model_name = model.spec.name
    object_name = model_server(model_name)
    labels = common.labels(MODEL_SERVER, COMPONENT, model_name)
    selector = common.selector(MODEL_SERVER, COMPONENT, model_name)
    deployment = _deployment(name, args, model, account, secrets, opts)
    k8s.core.v1.Service(
        f"{name}-service",
        metadata=common.metadata(object_name, args.namespace, labels),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector,
            ports=[
                k8s.core.v1.ServicePortArgs(
                    name=HTTP_PORT_NAME, port=80, target_port=HTTP_PORT_NAME, protocol="TCP"
                )
            ],
        ),
        opts=opts,
    )
    load_balancer_service(
        name,
        args.exposure,
        args.namespace,
        selector,
        opts,
        object_name=model_load_balancer(model_name),
    )
    network_policy(
        f"{name}-netpol",
        args.namespace,
        labels,
        ingress=[
            allow_monitoring(HTTP_PORT_NAME),
            allow_from(client_peers(args.exposure), HTTP_PORT_NAME),
        ],
        egress=egress_dns_and_https(),
        opts=opts,
        object_name=object_name,
    )
    _autoscaling(name, args, model, deployment, opts)


def _deployment(
    name: str,
    args: ServingArgs,
    model: ServedModel,
    account: k8s.core.v1.ServiceAccount,
    secrets: Secrets,
    opts: pulumi.ResourceOptions,
) -> k8s.apps.v1.Deployment:
    labels = common.labels(MODEL_SERVER, COMPONENT, model.spec.name)
    return k8s.apps.v1.Deployment(
        f"{name}-deployment",
        metadata=common.metadata(model_server(model.spec.name), args.namespace, labels),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            # No `replicas`: the HPA owns the count; setting it here would reset the
            # scale on every `pulumi up`.
            selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels=common.selector(MODEL_SERVER, COMPONENT, model.spec.name)
            ),
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                    max_unavailable=0, max_surge=1
                ),
            ),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    labels=labels,
                    annotations={
                        # Restart the pods when the keys change (mounted files update
                        # lazily, and the app reads them at start).
                        "mlops-platform/api-keys-version": secrets[0].metadata.apply(
                            lambda m: m.resource_version or ""
                        ),
                    },
                ),
                spec=_pod_spec(args, model, account, secrets, labels),
            ),
        ),
        opts=opts,
    )


def _autoscaling(
    name: str,
    args: ServingArgs,
    model: ServedModel,
    deployment: k8s.apps.v1.Deployment,
    opts: pulumi.ResourceOptions,
) -> None:
    object_name = model_server(model.spec.name)
    labels = common.labels(MODEL_SERVER, COMPONENT, model.spec.name)
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-hpa",
        metadata=common.metadata(object_name, args.namespace, labels),
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                api_version="apps/v1",
                kind="Deployment",
                name=deployment.metadata.apply(lambda m: m.name or ""),
            ),
            min_replicas=model.min_replicas,
            max_replicas=model.max_replicas,
            metrics=[
                k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource",
                    resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu",
                        target=k8s.autoscaling.v2.MetricTargetArgs(
                            type="Utilization", average_utilization=args.target_cpu_percent
                        ),
                    ),
                )
            ],
        ),
        opts=opts,
    )
    if args.high_availability:
        # maxUnavailable (not minAvailable) so a node drain never deadlocks when the HPA
        # has scaled down to its minimum.
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=common.metadata(object_name, args.namespace, labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels=common.selector(MODEL_SERVER, COMPONENT, model.spec.name)
                ),
            ),
            opts=opts,
        )


def _server_container(args: ServingArgs, model: ServedModel) -> k8s.core.v1.ContainerArgs:
    env = [
        *settings_env(
            {
                "bucket": args.bucket,
                "aws_region": args.region,
                **model_settings(model.spec),
                "api_keys_file": f"{SECRETS_DIR}/{API_KEYS_FILE_NAME}",
                "prediction_id_key_file": f"{SECRETS_DIR}/{PREDICTION_ID_KEY_FILE_NAME}",
                "capture_sample_rate": str(model.capture_sample_rate),
                # Every address inside the pod; the NetworkPolicy admits the clients.
                "host": "0.0.0.0",  # noqa: S104
                "port": str(HTTP_PORT),
            }
        ),
        memory_limit_env(MODEL_SERVER),
    ]
    return k8s.core.v1.ContainerArgs(
        name=MODEL_SERVER,
        image=args.image,
        image_pull_policy="IfNotPresent",
        args=["serve"],
        env=env,
        ports=[
            k8s.core.v1.ContainerPortArgs(
                name=HTTP_PORT_NAME, container_port=HTTP_PORT, protocol="TCP"
            )
        ],
        # The server loads the model before it reports ready; the startup probe gives it
        # time without making the liveness probe lenient.
        startup_probe=common.http_probe(HEALTH_PATH, period=2, failures=30),
        liveness_probe=common.http_probe(HEALTH_PATH, period=10, failures=3),
        readiness_probe=common.http_probe(READY_PATH, period=5, failures=2),
        resources=common.resources(model.resources),
        security_context=common.container_security_context(),
        volume_mounts=[
            common.tmp_mount(),
            k8s.core.v1.VolumeMountArgs(
                name=SECRETS_VOLUME, mount_path=SECRETS_DIR, read_only=True
            ),
        ],
    )


def _pod_spec(
    args: ServingArgs,
    model: ServedModel,
    account: k8s.core.v1.ServiceAccount,
    secrets: Secrets,
    labels: dict[str, str],
) -> k8s.core.v1.PodSpecArgs:
    return k8s.core.v1.PodSpecArgs(
        service_account_name=account.metadata.apply(lambda m: m.name or ""),
        automount_service_account_token=False,
        security_context=common.pod_security_context(),
        node_selector=SYSTEM_NODE_SELECTOR,
        topology_spread_constraints=common.zone_spread(labels) if args.high_availability else None,
        termination_grace_period_seconds=30,
        containers=[_server_container(args, model)],
        volumes=[common.tmp_volume(), secrets_volume(secrets)],
    )
