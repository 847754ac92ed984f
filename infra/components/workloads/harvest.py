"""The daily harvest: labelled captures of finished days become training rows.

A CronJob per model in the training namespace (`harvest-<model>`) runs `python -m app data
harvest` with the training image and the trainer's ServiceAccount (its role reads `captures/`
and writes a dataset's `captured/` folder). It needs a CPU for seconds, not a GPU: it runs on
the system pool. The object it writes lands under the model's dataset, so the bucket's
notification asks the model's retrain trigger for a retraining on the new rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.workloads import common
from infra.components.workloads.model_jobs import ModelPodJob, job_container, job_template
from infra.components.workloads.models import model_settings
from infra.components.workloads.network_policies import egress_dns_and_https, network_policy
from infra.components.workloads.settings_env import settings_env
from infra.contracts import HARVEST_CRONJOB, harvest_cronjob

NAME = HARVEST_CRONJOB
COMPONENT = "training"
RESOURCES = common.PodResources(
    cpu_request="100m", memory_request="256Mi", cpu_limit="500m", memory_limit="512Mi"
)
# A day of captures is read in seconds to minutes; one stuck on S3 must not hold the schedule.
ACTIVE_DEADLINE_SECONDS = 1800


@dataclass(frozen=True, kw_only=True)
class HarvestJob(ModelPodJob):
    """What the harvest CronJob is built from (the Training component passes its own;
    `image`: the training image). It harvests `captures/<model>/` into the model's dataset
    (`<prefix>captured/date=YYYY-MM-DD.csv`)."""

    schedule: str
    """Cron schedule."""
    time_zone: str
    """IANA time zone the schedule is read in."""


def declare_harvest(resource_name: str, job: HarvestJob, opts: pulumi.ResourceOptions) -> None:
    """The CronJob and its NetworkPolicy (nothing gets in; out: DNS and HTTPS to S3/STS)."""
    labels = common.labels(NAME, COMPONENT, job.model.name)
    object_name = harvest_cronjob(job.model.name)
    k8s.batch.v1.CronJob(
        f"{resource_name}-cronjob",
        metadata=common.metadata(object_name, job.namespace, labels),
        spec=k8s.batch.v1.CronJobSpecArgs(
            schedule=job.schedule,
            time_zone=job.time_zone,
            # Two harvests of one day would race for the same create-only object.
            concurrency_policy="Forbid",
            starting_deadline_seconds=3600,
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            job_template=job_template(job, labels, _container(job), ACTIVE_DEADLINE_SECONDS, 2),
        ),
        opts=opts,
    )
    network_policy(
        f"{resource_name}-netpol",
        job.namespace,
        labels,
        ingress=[],
        egress=egress_dns_and_https(),
        opts=opts,
        object_name=object_name,
    )


def _container(job: HarvestJob) -> k8s.core.v1.ContainerArgs:
    env = settings_env(
        {"bucket": job.bucket, "aws_region": job.region, **model_settings(job.model)}
    )
    return job_container(job, NAME, ["python", "-m", "app", "data", "harvest"], env, RESOURCES)
