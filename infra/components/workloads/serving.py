"""The model server: its identity, Deployment, Services, autoscaling and disruption budget."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import (
    ROLE_ARN_ANNOTATION,
    SERVING_SERVICE_ACCOUNT,
    SYSTEM_NODE_SELECTOR,
)
from infra.components.workloads import common
from infra.components.workloads.exposure import (
    load_balancer_service,
    serving_network_policy,
)
from infra.components.workloads.settings_env import env_name, memory_limit_env, settings_env
from infra.config.workloads import AppConfig

NAME = "model-server"
COMPONENT = "serving"
API_KEYS_DIR = "/var/run/secrets/mlops"
API_KEYS_FILE = "api-keys"
ZONE_KEY = "topology.kubernetes.io/zone"


@dataclass(frozen=True, kw_only=True)
class ServingArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster."""
    namespace: pulumi.Input[str]
    """Namespace the server runs in (Pod Security `restricted`)."""
    monitoring_namespace: str
    """Namespace of Prometheus, admitted to scrape the server."""
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
    vpc_cidr: str
    """Clients of the internal load balancer come from here."""
    app: AppConfig
    """Replicas, resources, exposure and availability settings."""


class Serving(pulumi.ComponentResource):
    service_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:workloads:Serving", name, None, opts)
        child = pulumi.ResourceOptions(provider=args.k8s_provider, parent=self)
        labels = common.labels(NAME, COMPONENT)
        selector = common.selector(NAME, COMPONENT)

        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=common.metadata(
                SERVING_SERVICE_ACCOUNT,
                args.namespace,
                labels,
                annotations={ROLE_ARN_ANNOTATION: args.role_arn},
            ),
            # Pods get the IRSA web-identity token from the EKS webhook; they never need a
            # Kubernetes API token.
            automount_service_account_token=False,
            opts=child,
        )
        keys = k8s.core.v1.Secret(
            f"{name}-api-keys",
            metadata=common.metadata(f"{NAME}-api-keys", args.namespace, labels),
            type="Opaque",
            # One key per line, the format of the app's MLOPS_API_KEYS_FILE.
            string_data={
                API_KEYS_FILE: pulumi.Output.from_input(args.api_keys).apply(
                    lambda value: "\n".join(key.strip() for key in value.split(","))
                )
            },
            opts=child,
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=common.metadata(NAME, args.namespace, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No `replicas`: the HPA owns the count; setting it here would reset the
                # scale on every `pulumi up`.
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
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
                            "mlops-platform/api-keys-version": keys.metadata.apply(
                                lambda m: m.resource_version or ""
                            ),
                        },
                    ),
                    spec=self._pod_spec(args, account, keys, labels),
                ),
            ),
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=common.metadata(NAME, args.namespace, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name="http", port=80, target_port="http", protocol="TCP"
                    )
                ],
            ),
            opts=child,
        )
        load_balancer_service(name, args, labels, selector, child)
        serving_network_policy(name, args, labels, selector, child)
        self._autoscaling(name, args, labels, selector, deployment, child)
        self.service_name = service.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"serviceName": self.service_name})

    @staticmethod
    def _pod_spec(
        args: ServingArgs,
        account: k8s.core.v1.ServiceAccount,
        keys: k8s.core.v1.Secret,
        labels: dict[str, str],
    ) -> k8s.core.v1.PodSpecArgs:
        app = args.app
        env = [
            *settings_env(
                {
                    "bucket": args.bucket,
                    "aws_region": args.region,
                    "model_name": app.model_name,
                    "model_alias": app.model_alias,
                    "api_keys_file": f"{API_KEYS_DIR}/{API_KEYS_FILE}",
                    # Every address inside the pod; the NetworkPolicy admits the clients.
                    "host": "0.0.0.0",  # noqa: S104
                    "port": str(common.APP_PORT),
                }
            ),
            memory_limit_env(NAME),
        ]
        probe_port = "http"
        container = k8s.core.v1.ContainerArgs(
            name=NAME,
            image=args.image,
            image_pull_policy="IfNotPresent",
            args=["serve"],
            env=env,
            ports=[
                k8s.core.v1.ContainerPortArgs(
                    name="http", container_port=common.APP_PORT, protocol="TCP"
                )
            ],
            # The server loads the model before it reports ready; the startup probe gives it
            # time without making the liveness probe lenient.
            startup_probe=_http_probe("/healthz", probe_port, period=2, failures=30),
            liveness_probe=_http_probe("/healthz", probe_port, period=10, failures=3),
            readiness_probe=_http_probe("/readyz", probe_port, period=5, failures=2),
            resources=common.resources(app.resources),
            security_context=common.container_security_context(),
            volume_mounts=[
                common.tmp_mount(),
                k8s.core.v1.VolumeMountArgs(
                    name="api-keys", mount_path=API_KEYS_DIR, read_only=True
                ),
            ],
        )
        return k8s.core.v1.PodSpecArgs(
            service_account_name=account.metadata.apply(lambda m: m.name or ""),
            automount_service_account_token=False,
            security_context=common.pod_security_context(),
            node_selector=SYSTEM_NODE_SELECTOR,
            topology_spread_constraints=_spread(labels) if app.high_availability else None,
            termination_grace_period_seconds=30,
            containers=[container],
            volumes=[
                common.tmp_volume(),
                k8s.core.v1.VolumeArgs(
                    name="api-keys",
                    secret=k8s.core.v1.SecretVolumeSourceArgs(
                        secret_name=keys.metadata.apply(lambda m: m.name or ""),
                        default_mode=0o440,
                    ),
                ),
            ],
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
        app = args.app
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=common.metadata(NAME, args.namespace, labels),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1",
                    kind="Deployment",
                    name=deployment.metadata.apply(lambda m: m.name or ""),
                ),
                min_replicas=app.min_replicas,
                max_replicas=app.max_replicas,
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="Resource",
                        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                            name="cpu",
                            target=k8s.autoscaling.v2.MetricTargetArgs(
                                type="Utilization", average_utilization=app.target_cpu_percent
                            ),
                        ),
                    )
                ],
            ),
            opts=child,
        )
        if app.high_availability:
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


def _http_probe(path: str, port: str, *, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=port),
        period_seconds=period,
        timeout_seconds=2,
        failure_threshold=failures,
    )


def _spread(labels: dict[str, str]) -> list[k8s.core.v1.TopologySpreadConstraintArgs]:
    match = k8s.meta.v1.LabelSelectorArgs(
        match_labels={key: labels[key] for key in ("app.kubernetes.io/name",)}
    )
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


__all__ = ["NAME", "Serving", "ServingArgs", "env_name"]
