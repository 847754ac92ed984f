"""Args of the app's workloads: namespaces, and per model training, serving and a trigger."""

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
from infra.components.workloads.model_server import ServedModel
from infra.components.workloads.models import ModelSpec, Rollout
from infra.components.workloads.retrain_trigger import TriggeredModel
from infra.config import ClusterSecrets, StackConfig
from infra.config.models import ModelConfig
from infra.config.workloads import ResourcesConfig
from infra.contracts import TRACKING_URI, retrain_pipeline


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


def model_spec(model: ModelConfig) -> ModelSpec:
    rollout = model.rollout
    return ModelSpec(
        name=model.name,
        alias=model.alias,
        family=model.family,
        dataset_prefix=model.dataset,
        packaged_dataset=model.packaged_dataset,
        rollout=Rollout(
            mode=rollout.mode,
            hold_seconds=rollout.hold_minutes * 60,
            min_agreement=rollout.min_agreement,
            min_comparisons=rollout.min_comparisons,
        ),
    )


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
        app_image=image_of(store, app.image_tag),
        role_arn=role_arn,
        bucket=store.bucket_name,
        region=config.aws.region,
        models=[model_spec(model) for model in app.models],
        schedule=schedule.schedule,
        time_zone=schedule.time_zone,
        nodes=schedule.nodes,
        gpus_per_node=schedule.gpus_per_node,
        resources=pod_resources(schedule.resources),
        active_deadline_seconds=schedule.active_deadline_seconds,
        backoff_limit=schedule.backoff_limit,
        efa=config.capacity.gpu.efa,
        tracking_uri=TRACKING_URI if tracking is not None else None,
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
        models=[
            ServedModel(
                spec=model_spec(model),
                min_replicas=model.min_replicas,
                max_replicas=model.max_replicas,
                resources=pod_resources(model.resources),
                capture_sample_rate=model.capture_sample_rate,
            )
            for model in app.models
        ],
        target_cpu_percent=app.target_cpu_percent,
        high_availability=app.high_availability,
        exposure=Exposure(
            mode=exposure.mode,
            certificate_arn=exposure.certificate_arn,
            source_cidrs=exposure.source_cidrs,
            allow_plain_http=exposure.allow_plain_http,
            vpc_cidr=config.network.cidr,
        ),
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
        models=[
            TriggeredModel(
                name=model.name,
                cronjob=schedule.cronjob_names[model.name],
                queue_url=store.dataset_queue_urls[model.name],
                dataset_prefix=model.dataset,
                # With the pipeline on Argo Workflows, every trigger (drift, new data)
                # submits the model's pipeline.
                workflow_template=retrain_pipeline(model.name) if _has_workflows(config) else None,
            )
            for model in config.app.models
        ],
        token=secrets.retrain_webhook_token,
        role_arn=role_arn,
        region=config.aws.region,
    )


def _has_workflows(config: StackConfig) -> bool:
    # Imported here: the workflows mapping builds on this module's pod resources.
    from infra.component_args.workflows import has_workflows

    return has_workflows(config)
