"""Declares every workload on the cluster, in dependency order, from the typed stack config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.components.scheduling import MONITORING_NAMESPACE
from infra.components.workloads.common import image
from infra.components.workloads.namespaces import Namespaces, NamespacesArgs
from infra.components.workloads.retrain_trigger import RetrainTrigger, RetrainTriggerArgs
from infra.components.workloads.serving import Serving, ServingArgs
from infra.components.workloads.training import Training, TrainingArgs
from infra.config import StackConfig, StackSecrets


@dataclass(frozen=True)
class Workloads:
    namespaces: Namespaces
    serving: Serving
    training: Training
    trigger: RetrainTrigger


@dataclass(frozen=True, kw_only=True)
class WorkloadInputs:
    """What the workloads take from the rest of the platform."""

    k8s_provider: pulumi.ProviderResource
    repository_url: pulumi.Input[str] | None
    bucket: pulumi.Input[str]
    serving_role_arn: pulumi.Input[str]
    training_role_arn: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource]
    """Node pools and add-ons: Deployments only become ready once there are nodes."""


def declare_workloads(
    name: str, config: StackConfig, secrets: StackSecrets, inputs: WorkloadInputs
) -> Workloads:
    if inputs.repository_url is None:
        # StackConfig rejects a cluster without a repository before anything is declared.
        raise TypeError("workloads need the image repository's URL")
    app = config.app
    opts = pulumi.ResourceOptions(depends_on=list(inputs.depends_on))
    namespaces = Namespaces(name, NamespacesArgs(k8s_provider=inputs.k8s_provider), opts)
    training = Training(
        f"{name}-training",
        TrainingArgs(
            k8s_provider=inputs.k8s_provider,
            namespace=namespaces.training,
            image=image(inputs.repository_url, app.training_image_tag),
            role_arn=inputs.training_role_arn,
            bucket=inputs.bucket,
            region=config.aws.region,
            app=app,
            efa=config.capacity.gpu.efa,
        ),
        opts,
    )
    serving_image = image(inputs.repository_url, app.image_tag)
    serving = Serving(
        f"{name}-serving",
        ServingArgs(
            k8s_provider=inputs.k8s_provider,
            namespace=namespaces.serving,
            monitoring_namespace=MONITORING_NAMESPACE,
            image=serving_image,
            role_arn=inputs.serving_role_arn,
            bucket=inputs.bucket,
            region=config.aws.region,
            api_keys=secrets.require("apiKeys"),
            vpc_cidr=config.network.cidr,
            app=app,
        ),
        opts,
    )
    trigger = RetrainTrigger(
        f"{name}-retrain-trigger",
        RetrainTriggerArgs(
            k8s_provider=inputs.k8s_provider,
            namespace=namespaces.training,
            monitoring_namespace=MONITORING_NAMESPACE,
            image=serving_image,
            cronjob=training.cronjob_name,
            token=secrets.require("retrainWebhookToken"),
        ),
        opts,
    )
    return Workloads(namespaces, serving, training, trigger)
