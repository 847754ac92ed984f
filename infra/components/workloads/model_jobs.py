"""Per model, beside its training: a batch-scoring Job template and the shadow-rollout decision.

Both run the serving image (CPU only, no PyTorch) on the system pool, with the trainer's
ServiceAccount: its role reads datasets and models, writes `models/` (the rollout decision
moves `models/<model>/aliases/`) and reads and writes `scoring/` (the batch inputs and
results).

- `batch-score-<model>` is suspended: a template for `kubectl create job --from=cronjob/...`.
  A CronJob template takes no arguments, so the input key comes from MLOPS_SCORE_INPUT
  (default `scoring/<model>/to-score.csv`), which the kubelet expands into the command;
  docs/operations.md shows how to score another key. `--alias` reads the alias from the
  bucket, so no tracking server is needed.
- `rollout-<model>`, for a model whose promotions roll out in shadow only, runs
  `python -m app models rollout` every 5 minutes: it reads the model's rollout record,
  queries Prometheus and completes the rollout or rolls it back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import SYSTEM_NODE_SELECTOR
from infra.components.workloads import common
from infra.components.workloads.models import ModelSpec, model_settings, rollout_settings
from infra.components.workloads.network_policies import (
    Egress,
    egress_dns_and_https,
    egress_to_prometheus,
    namespace_peer,
    network_policy,
)
from infra.components.workloads.settings_env import settings_env
from infra.contracts import (
    BATCH_SCORE_CRONJOB,
    ROLLOUT_CRONJOB,
    TRACKING_NAMESPACE,
    TRACKING_PORT,
    batch_score_cronjob,
    rollout_cronjob,
    scoring_input,
)

SCORE_INPUT_ENV = "MLOPS_SCORE_INPUT"
"""Not an app setting: the kubelet substitutes it into the score command's `--input`."""
SCORE_RESOURCES = common.PodResources(
    cpu_request="250m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi"
)
ROLLOUT_RESOURCES = common.PodResources(
    cpu_request="50m", memory_request="128Mi", cpu_limit="500m", memory_limit="256Mi"
)
ROLLOUT_SCHEDULE = "*/5 * * * *"
# A decision takes seconds; one still running at the next tick is stuck, not slow.
ROLLOUT_DEADLINE_SECONDS = 240
SCORE_DEADLINE_SECONDS = 4 * 3600
# A suspended CronJob never runs; it still needs a valid schedule.
NEVER = "0 0 1 1 *"


@dataclass(frozen=True, kw_only=True)
class ModelPodJob:
    """What every Job of one model that runs the app on the system nodes needs."""

    namespace: pulumi.Input[str]
    """The training namespace."""
    image: pulumi.Input[str]
    """The image that carries `python -m app`."""
    service_account: pulumi.Input[str]
    """The trainer's IRSA ServiceAccount."""
    bucket: pulumi.Input[str]
    """Model bucket name."""
    region: str
    """Region of the model bucket."""
    model: ModelSpec
    """The model the Job works for."""


@dataclass(frozen=True, kw_only=True)
class ModelJobs(ModelPodJob):
    """What one model's batch-scoring and rollout CronJobs are built from (`image`: the
    serving image, which carries `python -m app score` and `models rollout`)."""

    tracking_uri: str | None
    """The tracking server, where the stack runs one. An image with the tracking client
    mirrors each rollout decision to MLflow's alias; the serving image these jobs run has
    none, so there the decision moves the bucket's alias alone and MLflow's follows at the
    next promote or rollback (app/rollout_command.py)."""


def declare_model_jobs(name: str, jobs: ModelJobs, opts: pulumi.ResourceOptions) -> None:
    _batch_score(f"{name}-batch-score", jobs, opts)
    if jobs.model.rollout.mode == "shadow":
        _rollout(f"{name}-rollout", jobs, opts)


def _batch_score(name: str, jobs: ModelJobs, opts: pulumi.ResourceOptions) -> None:
    labels = common.labels(BATCH_SCORE_CRONJOB, "batch-scoring", jobs.model.name)
    object_name = batch_score_cronjob(jobs.model.name)
    env = [
        k8s.core.v1.EnvVarArgs(name=SCORE_INPUT_ENV, value=scoring_input(jobs.model.name)),
        *settings_env(
            {"bucket": jobs.bucket, "aws_region": jobs.region, **model_settings(jobs.model)}
        ),
    ]
    command = ["python", "-m", "app", "score", "--input", f"$({SCORE_INPUT_ENV})"]
    container = job_container(jobs, BATCH_SCORE_CRONJOB, command, env, SCORE_RESOURCES)
    _cronjob(
        name,
        jobs,
        object_name,
        labels,
        k8s.batch.v1.CronJobSpecArgs(
            schedule=NEVER,
            suspend=True,
            job_template=job_template(jobs, labels, container, SCORE_DEADLINE_SECONDS, 1),
        ),
        opts,
    )
    network_policy(
        f"{name}-netpol",
        jobs.namespace,
        labels,
        ingress=[],
        egress=egress_dns_and_https(),
        opts=opts,
        object_name=object_name,
    )


def _rollout(name: str, jobs: ModelJobs, opts: pulumi.ResourceOptions) -> None:
    labels = common.labels(ROLLOUT_CRONJOB, "rollout", jobs.model.name)
    object_name = rollout_cronjob(jobs.model.name)
    tracking = {"tracking_uri": jobs.tracking_uri} if jobs.tracking_uri else {}
    env = settings_env(
        {
            "bucket": jobs.bucket,
            "aws_region": jobs.region,
            **rollout_settings(jobs.model),
            **tracking,
        }
    )
    container = job_container(
        jobs, ROLLOUT_CRONJOB, ["python", "-m", "app", "models", "rollout"], env, ROLLOUT_RESOURCES
    )
    _cronjob(
        name,
        jobs,
        object_name,
        labels,
        k8s.batch.v1.CronJobSpecArgs(
            schedule=ROLLOUT_SCHEDULE,
            # Two decisions at once could both move the alias.
            concurrency_policy="Forbid",
            starting_deadline_seconds=ROLLOUT_DEADLINE_SECONDS,
            successful_jobs_history_limit=1,
            failed_jobs_history_limit=3,
            # A failed decision is retried by the next tick, not by the Job.
            job_template=job_template(jobs, labels, container, ROLLOUT_DEADLINE_SECONDS, 0),
        ),
        opts,
    )
    egress: list[Egress] = [*egress_dns_and_https(), egress_to_prometheus()]
    if jobs.tracking_uri:
        egress.append(
            Egress(
                to=[namespace_peer(TRACKING_NAMESPACE)],
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=TRACKING_PORT, protocol="TCP")],
            )
        )
    network_policy(
        f"{name}-netpol",
        jobs.namespace,
        labels,
        ingress=[],
        egress=egress,
        opts=opts,
        object_name=object_name,
    )


def _cronjob(
    name: str,
    jobs: ModelJobs,
    object_name: str,
    labels: dict[str, str],
    spec: k8s.batch.v1.CronJobSpecArgs,
    opts: pulumi.ResourceOptions,
) -> None:
    k8s.batch.v1.CronJob(
        f"{name}-cronjob",
        metadata=common.metadata(object_name, jobs.namespace, labels),
        spec=spec,
        opts=opts,
    )


def job_template(
    jobs: ModelPodJob,
    labels: dict[str, str],
    container: k8s.core.v1.ContainerArgs,
    deadline_seconds: int,
    backoff_limit: int,
) -> k8s.batch.v1.JobTemplateSpecArgs:
    return k8s.batch.v1.JobTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
        spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=backoff_limit,
            active_deadline_seconds=deadline_seconds,
            ttl_seconds_after_finished=common.JOB_TTL_SECONDS,
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(
                    restart_policy="Never",
                    service_account_name=jobs.service_account,
                    automount_service_account_token=False,
                    security_context=common.pod_security_context(),
                    node_selector=SYSTEM_NODE_SELECTOR,
                    containers=[container],
                    volumes=[common.tmp_volume()],
                ),
            ),
        ),
    )


def job_container(
    jobs: ModelPodJob,
    name: str,
    command: list[str],
    env: list[k8s.core.v1.EnvVarArgs],
    resources: common.PodResources,
) -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        name=name,
        image=jobs.image,
        image_pull_policy="IfNotPresent",
        command=command,
        # Libraries cache under $HOME; the root filesystem is read-only.
        env=[*env, k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp")],  # noqa: S108
        resources=common.resources(resources),
        security_context=common.container_security_context(),
        volume_mounts=[common.tmp_mount()],
    )
