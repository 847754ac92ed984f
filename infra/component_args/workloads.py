"""Args of the app's workloads: namespaces, training, serving and the retrain trigger."""

from __future__ import annotations

import pulumi

from infra.components.cluster import EksCluster
from infra.components.model_store import ModelStore
from infra.components.tracking import Tracking
from infra.components.workloads import (
    Exposure,
    Namespaces,
    NamespacesArgs,
    PodResources,
    RetrainTriggerArgs,
    ServingArgs,
    Training,
    TrainingArgs,
)
from infra.components.workloads.common import image
from infra.config import ClusterSecrets, StackConfig
from infra.config.workloads import ResourcesConfig
from infra.contracts import DATASET_PREFIX, RETRAIN_PIPELINE, TRACKING_URI


def namespaces(cluster: EksCluster) -> NamespacesArgs:
    return NamespacesArgs(k8s_provider=cluster.kubernetes_provider)


def pod_resources(resources: ResourcesConfig) -> PodResources:
    return PodResources(
        cpu_request=resources.cpu_request,
        memory_request=resources.memory_request,
        cpu_limit=resources.cpu_limit,
        memory_limit=resources.memory_limit,
    )


def image_of(store: ModelStore, reference: str) -> pulumi.Output[str]:
    if store.repository_url is None:
        # StackConfig rejects a cluster without a repository before anything is declared.
        raise TypeError("workloads need the image repository's URL")
    return image(store.repository_url, reference)


def training(
    config: StackConfig,
    cluster: EksCluster,
    spaces: Namespaces,
    store: ModelStore,
    role_arn: pulumi.Input[str],
    tracking: Tracking | None,
) -> TrainingArgs:
    app, schedule = config.app, config.app.training
    return TrainingArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.training,
        image=image_of(store, app.training_image_tag),
        role_arn=role_arn,
        bucket=store.bucket_name,
        region=config.aws.region,
        model_name=app.model_name,
        model_alias=app.model_alias,
        schedule=schedule.schedule,
        time_zone=schedule.time_zone,
        nodes=schedule.nodes,
        gpus_per_node=schedule.gpus_per_node,
        resources=pod_resources(schedule.resources),
        active_deadline_seconds=schedule.active_deadline_seconds,
        backoff_limit=schedule.backoff_limit,
        efa=config.capacity.gpu.efa,
        tracking_uri=TRACKING_URI if tracking is not None else None,
        dataset_prefix=DATASET_PREFIX,
        harvest_schedule=schedule.harvest_schedule,
        schedule_suspended=_has_workflows(config),
    )


def serving(
    config: StackConfig,
    secrets: ClusterSecrets,
    cluster: EksCluster,
    spaces: Namespaces,
    store: ModelStore,
    role_arn: pulumi.Input[str],
) -> ServingArgs:
    app, exposure = config.app, config.app.exposure
    return ServingArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.serving,
        image=image_of(store, app.image_tag),
        role_arn=role_arn,
        bucket=store.bucket_name,
        region=config.aws.region,
        api_keys=secrets.api_keys,
        model_name=app.model_name,
        model_alias=app.model_alias,
        min_replicas=app.min_replicas,
        max_replicas=app.max_replicas,
        target_cpu_percent=app.target_cpu_percent,
        high_availability=app.high_availability,
        resources=pod_resources(app.resources),
        exposure=Exposure(
            mode=exposure.mode,
            certificate_arn=exposure.certificate_arn,
            source_cidrs=exposure.source_cidrs,
            allow_plain_http=exposure.allow_plain_http,
            vpc_cidr=config.network.cidr,
        ),
        capture_sample_rate=app.capture_sample_rate,
    )


def retrain_trigger(
    config: StackConfig,
    secrets: ClusterSecrets,
    cluster: EksCluster,
    spaces: Namespaces,
    store: ModelStore,
    schedule: Training,
    role_arn: pulumi.Input[str],
) -> RetrainTriggerArgs:
    return RetrainTriggerArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.training,
        # The serving image carries `python -m app.trigger`.
        image=image_of(store, config.app.image_tag),
        cronjob=schedule.cronjob_name,
        token=secrets.retrain_webhook_token,
        role_arn=role_arn,
        queue_url=store.dataset_queue_url,
        dataset_prefix=DATASET_PREFIX,
        region=config.aws.region,
        # With the pipeline on Argo Workflows, every trigger (drift, new data) submits it.
        workflow_template=RETRAIN_PIPELINE if _has_workflows(config) else None,
    )


def _has_workflows(config: StackConfig) -> bool:
    # Imported here: the workflows mapping builds on this module's pod resources.
    from infra.component_args.workflows import has_workflows

    return has_workflows(config)
