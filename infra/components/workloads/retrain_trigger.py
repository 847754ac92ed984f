"""The retrain triggers, one per model: Alertmanager calls a model's webhook (its drift alert),
and the trigger polls the model's dataset queue (new data under its prefix); either starts
one retraining of that model.

One Deployment per model because the trigger serves one model (one CronJob or template, one
queue, one prefix); they share a ServiceAccount, its IAM role and its RBAC. It may create and
list Jobs and read the models' retraining CronJobs in the training namespace, and receive and
delete the dataset queues' messages (its IAM role), nothing else. One replica each: the
receiver also de-duplicates by Job name, so the brief overlap of a rolling update cannot start
two retrainings either; a restarted pod finds the undeleted messages again (nothing is lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from app.trigger.settings import TriggerSettings
from infra.components.workloads import common
from infra.components.workloads.network_policies import (
    allow_monitoring,
    egress_dns_and_https,
    network_policy,
)
from infra.components.workloads.settings_env import settings_env
from infra.contracts import (
    HEALTH_PATH,
    HTTP_PORT,
    HTTP_PORT_NAME,
    RETRAIN_ALERTS_PATH,
    RETRAIN_TRIGGER,
    SECRETS_DIR,
    TOKEN_FILE_NAME,
    retrain_trigger,
)

NAME = RETRAIN_TRIGGER
COMPONENT = "retrain-trigger"
RESOURCES = common.PodResources(
    cpu_request="50m", memory_request="96Mi", cpu_limit="250m", memory_limit="192Mi"
)


@dataclass(frozen=True, kw_only=True)
class TriggeredModel:
    """What one model's trigger starts, and on which data."""

    name: str
    """The model."""
    cronjob: pulumi.Input[str]
    """Name of its retraining CronJob whose job template is instantiated."""
    queue_url: pulumi.Input[str]
    """SQS queue the model bucket notifies of new objects under `dataset_prefix`."""
    dataset_prefix: str
    """Objects under this prefix are its training data; their events start a retraining."""
    workflow_template: pulumi.Input[str] | None
    """Its pipeline's WorkflowTemplate where the cluster runs Argo Workflows: each
    retraining is a Workflow from it; None: a Job from `cronjob`."""


@dataclass(frozen=True, kw_only=True)
class RetrainTriggerArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster."""
    namespace: pulumi.Input[str]
    """The training namespace: where the receiver runs and creates Jobs."""
    image: pulumi.Input[str]
    """The app's serving image (it carries `python -m app.trigger`)."""
    models: Sequence[TriggeredModel]
    """A trigger per model."""
    token: pulumi.Input[str]
    """Shared bearer token (Pulumi secret `retrainWebhookToken`)."""
    role_arn: pulumi.Input[str]
    """IAM role of the ServiceAccount (IRSA): consumes every model's dataset queue."""
    region: str
    """Region of the queues."""


class RetrainTrigger(pulumi.ComponentResource):
    urls: dict[str, pulumi.Output[str]]
    """Each model's in-cluster URL Alertmanager posts its drift alerts to."""

    def __init__(
        self, name: str, args: RetrainTriggerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:workloads:RetrainTrigger", name, None, opts)
        child = pulumi.ResourceOptions(provider=args.k8s_provider, parent=self)
        labels = common.labels(NAME, COMPONENT)
        account = common.irsa_service_account(
            f"{name}-sa", NAME, args.namespace, labels, args.role_arn, child
        )
        self._rbac(name, args, labels, account, child)
        token = k8s.core.v1.Secret(
            f"{name}-token",
            metadata=common.metadata(f"{NAME}-token", args.namespace, labels),
            type="Opaque",
            string_data={TOKEN_FILE_NAME: args.token},
            opts=child,
        )
        self.urls = {
            model.name: self._model_trigger(
                f"{name}-{model.name}", args, model, account, token, child
            )
            for model in args.models
        }
        self.register_outputs({"urls": self.urls})

    @staticmethod
    def _model_trigger(
        name: str,
        args: RetrainTriggerArgs,
        model: TriggeredModel,
        account: k8s.core.v1.ServiceAccount,
        token: k8s.core.v1.Secret,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """The model's receiver, its Service and policy; returns the webhook URL."""
        object_name = retrain_trigger(model.name)
        labels = common.labels(NAME, COMPONENT, model.name)
        RetrainTrigger._deployment(name, args, model, account, token, opts)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=common.metadata(object_name, args.namespace, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=common.selector(NAME, COMPONENT, model.name),
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name=HTTP_PORT_NAME, port=HTTP_PORT, target_port=HTTP_PORT_NAME
                    )
                ],
            ),
            opts=opts,
        )
        # Only Alertmanager (monitoring namespace) gets in; out: DNS, the API server and SQS
        # (HTTPS: the queue's endpoint has no fixed address).
        network_policy(
            f"{name}-netpol",
            args.namespace,
            labels,
            ingress=[allow_monitoring(HTTP_PORT_NAME)],
            egress=egress_dns_and_https(),
            opts=opts,
            object_name=object_name,
        )
        return pulumi.Output.concat(
            "http://",
            service.metadata.apply(lambda m: m.name or ""),
            ".",
            args.namespace,
            f".svc:{HTTP_PORT}{RETRAIN_ALERTS_PATH}",
        )

    @staticmethod
    def _deployment(
        name: str,
        args: RetrainTriggerArgs,
        model: TriggeredModel,
        account: k8s.core.v1.ServiceAccount,
        token: k8s.core.v1.Secret,
        opts: pulumi.ResourceOptions,
    ) -> None:
        """The model's receiver, with the token it demands mounted from the shared Secret."""
        labels = common.labels(NAME, COMPONENT, model.name)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=common.metadata(retrain_trigger(model.name), args.namespace, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels=common.selector(NAME, COMPONENT, model.name)
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=account.metadata.apply(lambda m: m.name or ""),
                        # The one workload that talks to the Kubernetes API.
                        automount_service_account_token=True,
                        security_context=common.pod_security_context(),
                        containers=[_receiver_container(args, model)],
                        volumes=[
                            common.tmp_volume(),
                            k8s.core.v1.VolumeArgs(
                                name="token",
                                secret=k8s.core.v1.SecretVolumeSourceArgs(
                                    secret_name=token.metadata.apply(lambda m: m.name or ""),
                                    default_mode=0o440,
                                ),
                            ),
                        ],
                    ),
                ),
            ),
            opts=opts,
        )

    @staticmethod
    def _rbac(
        name: str,
        args: RetrainTriggerArgs,
        labels: dict[str, str],
        account: k8s.core.v1.ServiceAccount,
        opts: pulumi.ResourceOptions,
    ) -> None:
        role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata=common.metadata(NAME, args.namespace, labels),
            rules=[
                # list (to see a running retraining) and create: the only Job calls it makes.
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["batch"], resources=["jobs"], verbs=["create", "list"]
                ),
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["batch"],
                    resources=["cronjobs"],
                    resource_names=[model.cronjob for model in args.models],
                    verbs=["get"],
                ),
            ],
            opts=opts,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-binding",
            metadata=common.metadata(NAME, args.namespace, labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io",
                kind="Role",
                name=role.metadata.apply(lambda m: m.name or ""),
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount",
                    name=account.metadata.apply(lambda m: m.name or ""),
                    namespace=args.namespace,
                )
            ],
            opts=opts,
        )


def _receiver_container(
    args: RetrainTriggerArgs, model: TriggeredModel
) -> k8s.core.v1.ContainerArgs:
    env = settings_env(
        {
            "namespace": args.namespace,
            "cronjob": model.cronjob,
            "token_file": f"{SECRETS_DIR}/{TOKEN_FILE_NAME}",
            "host": "0.0.0.0",  # noqa: S104 - inside the pod; the NetworkPolicy admits clients
            "port": str(HTTP_PORT),
            "queue_url": model.queue_url,
            "dataset_prefix": model.dataset_prefix,
            "aws_region": args.region,
            **({"workflow_template": model.workflow_template} if model.workflow_template else {}),
        },
        TriggerSettings,
    )
    probe = common.http_probe(HEALTH_PATH, period=10)
    return k8s.core.v1.ContainerArgs(
        name=NAME,
        image=args.image,
        image_pull_policy="IfNotPresent",
        command=["python", "-m", "app.trigger"],
        env=env,
        ports=[
            k8s.core.v1.ContainerPortArgs(
                name=HTTP_PORT_NAME, container_port=HTTP_PORT, protocol="TCP"
            )
        ],
        liveness_probe=probe,
        readiness_probe=probe,
        resources=common.resources(RESOURCES),
        security_context=common.container_security_context(),
        volume_mounts=[
            common.tmp_mount(),
            k8s.core.v1.VolumeMountArgs(name="token", mount_path=SECRETS_DIR, read_only=True),
        ],
    )
