"""The model server: its identity, Deployment, Services, autoscaling and disruption budget."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import SYSTEM_NODE_SELECTOR
from infra.components.workloads import common
from infra.components.workloads.exposure import Exposure, client_peers, load_balancer_service
from infra.components.workloads.network_policies import (
    allow_from,
    allow_monitoring,
    egress_dns_and_https,
    network_policy,
)
from infra.components.workloads.serving_secrets import (
    SECRETS_VOLUME,
    api_keys_secret,
    prediction_id_key_secret,
    secrets_volume,
)
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
    SERVING_SERVICE_ACCOUNT,
)

NAME = MODEL_SERVER
COMPONENT = "serving"


@dataclass(frozen=True, kw_only=True)
class ServingArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster."""
    namespace: pulumi.Input[str]
    """Namespace the server runs in (Pod Security `restricted`)."""
    image: pulumi.Input[str]
    """Full image reference: `<ecr url>:<tag>` or `<ecr url>@sha256:...`."""
    role_arn: pulumi.Input[str]
    """IAM role of the ServiceAccount (reads models/ and decrypts with the bucket key)."""
    bucket: pulumi.Input[str]
    """Model bucket name."""
    region: str
    """Region of the model bucket."""
    api_keys: pulumi.Input[str]
    """Comma-separated API keys (a Pulumi secret); stored in a Kubernetes Secret."""
    model_name: str
    """Registered model the server loads."""
    model_alias: str
    """Alias of the version it serves and follows."""
    min_replicas: int
    """Fewest pods the HPA keeps."""
    max_replicas: int
    """Most pods the HPA scales to."""
    target_cpu_percent: int
    """Average CPU utilization the HPA keeps the pods at."""
    high_availability: bool
    """Spread pods over zones and guard them with a PodDisruptionBudget."""
    resources: common.PodResources
    """Requests and limits of each pod."""
    exposure: Exposure
    """The load balancer (or none) and which clients the NetworkPolicy admits."""
    capture_sample_rate: float
    """Share of predictions captured to `captures/` (MLOPS_CAPTURE_SAMPLE_RATE)."""


class Serving(pulumi.ComponentResource):
    service_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:workloads:Serving", name, None, opts)
        child = pulumi.ResourceOptions(provider=args.k8s_provider, parent=self)
        labels = common.labels(NAME, COMPONENT)
        selector = common.selector(NAME, COMPONENT)

        account = common.irsa_service_account(
            f"{name}-sa", SERVING_SERVICE_ACCOUNT, args.namespace, labels, args.role_arn, child
        )
        keys = api_keys_secret(name, args.namespace, args.api_keys, labels, child)
        id_key = prediction_id_key_secret(name, args.namespace, labels, self, child)
        deployment = self._deployment(name, args, account, (keys, id_key), child)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=common.metadata(NAME, args.namespace, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name=HTTP_PORT_NAME, port=80, target_port=HTTP_PORT_NAME, protocol="TCP"
                    )
                ],
            ),
            opts=child,
        )
        load_balancer_service(name, args.exposure, args.namespace, selector, child)
        network_policy(
            f"{name}-netpol",
            args.namespace,
            labels,
            ingress=[
                allow_monitoring(HTTP_PORT_NAME),
                allow_from(client_peers(args.exposure), HTTP_PORT_NAME),
            ],
            egress=egress_dns_and_https(),
            opts=child,
        )
        self._autoscaling(name, args, labels, selector, deployment, child)
        self.service_name = service.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"serviceName": self.service_name})

    @staticmethod
    def _deployment(
        name: str,
        args: ServingArgs,
        account: k8s.core.v1.ServiceAccount,
        secrets: tuple[k8s.core.v1.Secret, k8s.core.v1.Secret],
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        labels = common.labels(NAME, COMPONENT)
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=common.metadata(NAME, args.namespace, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No `replicas`: the HPA owns the count; setting it here would reset the
                # scale on every `pulumi up`.
                selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels=common.selector(NAME, COMPONENT)
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
                    spec=_pod_spec(args, account, secrets, labels),
                ),
            ),
            opts=opts,
        )

    @staticmethod
    def _autoscaling(
        name: str,
        args: ServingArgs,
        labels: dict[str, str],
        selector: dict[str, str],
        deployment: k8s.apps.v1.Deployment,
        child: pulumi.ResourceOptions,
    ) -> None:
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=common.metadata(NAME, args.namespace, labels),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1",
                    kind="Deployment",
                    name=deployment.metadata.apply(lambda m: m.name or ""),
                ),
                min_replicas=args.min_replicas,
                max_replicas=args.max_replicas,
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
            opts=child,
        )
        if args.high_availability:
            # maxUnavailable (not minAvailable) so a node drain never deadlocks when the HPA
            # has scaled down to its minimum.
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=common.metadata(NAME, args.namespace, labels),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=1,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                ),
                opts=child,
            )


def _server_container(args: ServingArgs) -> k8s.core.v1.ContainerArgs:
    env = [
        *settings_env(
            {
                "bucket": args.bucket,
                "aws_region": args.region,
                "model_name": args.model_name,
                "model_alias": args.model_alias,
                "api_keys_file": f"{SECRETS_DIR}/{API_KEYS_FILE_NAME}",
                "prediction_id_key_file": f"{SECRETS_DIR}/{PREDICTION_ID_KEY_FILE_NAME}",
                "capture_sample_rate": str(args.capture_sample_rate),
                # Every address inside the pod; the NetworkPolicy admits the clients.
                "host": "0.0.0.0",  # noqa: S104
                "port": str(HTTP_PORT),
            }
        ),
        memory_limit_env(NAME),
    ]
    return k8s.core.v1.ContainerArgs(
        name=NAME,
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
        resources=common.resources(args.resources),
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
    account: k8s.core.v1.ServiceAccount,
    secrets: tuple[k8s.core.v1.Secret, k8s.core.v1.Secret],
    labels: dict[str, str],
) -> k8s.core.v1.PodSpecArgs:
    return k8s.core.v1.PodSpecArgs(
        service_account_name=account.metadata.apply(lambda m: m.name or ""),
        automount_service_account_token=False,
        security_context=common.pod_security_context(),
        node_selector=SYSTEM_NODE_SELECTOR,
        topology_spread_constraints=common.zone_spread(labels) if args.high_availability else None,
        termination_grace_period_seconds=30,
        containers=[_server_container(args)],
        volumes=[
            common.tmp_volume(),
            secrets_volume(secrets),
        ],
    )


__all__ = ["NAME", "Serving", "ServingArgs"]
