"""GPU training: the trainer identity, and per model the retraining CronJob with its distributed
job template, the daily harvest, the batch-scoring Job template and the rollout decision.

One CronJob per model (`retrain-<model>`), not one with a model argument: a CronJob's template
takes no arguments, and the trigger, `kubectl create job --from` and the schedule each start a
model's training from its own template, with that model's settings in its pods' env.

Distributed training uses an Indexed Job plus a headless Service with torchrun's static
rendezvous, rather than the Kubeflow Training Operator: it needs no operator or CRDs on the
cluster, Jobs from the CronJob, `kubectl create job --from=cronjob/...` and the retrain
trigger all share one template, and the Job's backoff, deadline and TTL rules apply as-is.
Pod `i` of a Job named `j` is reachable as `j-i.<service>`, so every pod finds rank 0 at
`$(JOB_NAME)-0.trainer` whatever name the Job was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import (
    EFA_RESOURCE,
    GPU_NODE_SELECTOR,
    GPU_RESOURCE,
    GPU_TOLERATIONS,
)
from infra.components.workloads import common
from infra.components.workloads.harvest import HarvestJob, declare_harvest
from infra.components.workloads.model_jobs import ModelJobs, declare_model_jobs
from infra.components.workloads.models import (
    CPU_TRAINING_RESOURCES,
    ModelSpec,
    training_settings,
    trains_on_gpus,
)
from infra.components.workloads.network_policies import (
    allow_from,
    allow_monitoring,
    egress_dns_and_https,
    namespace_peer,
    network_policy,
    same_workload,
)
from infra.components.workloads.settings_env import settings_env
from infra.contracts import (
    METRICS_PORT_NAME,
    TRACKING_NAMESPACE,
    TRACKING_PORT,
    TRAINER,
    TRAINING_METRICS_PORT,
    TRAINING_SERVICE_ACCOUNT,
    retrain_cronjob,
)

NAME = TRAINER
COMPONENT = "training"
RENDEZVOUS_PORT = 29500
# The primary rank keeps /metrics up a minute after the run, so the final values get scraped.
METRICS_LINGER_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class TrainingArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster."""
    namespace: pulumi.Input[str]
    """Namespace of the training jobs (Pod Security `restricted`)."""
    image: pulumi.Input[str]
    """Full reference of the training image (the Dockerfile's `train` target)."""
    app_image: pulumi.Input[str]
    """The serving image: batch scoring and the rollout decision run on CPU, without PyTorch."""
    role_arn: pulumi.Input[str]
    """IAM role of the trainer ServiceAccount (reads datasets/, writes models/)."""
    bucket: pulumi.Input[str]
    """Model bucket name."""
    region: str
    """Region of the model bucket."""
    models: Sequence[ModelSpec]
    """The models trained, a retraining CronJob, harvest, batch scoring (and rollout) each."""
    schedule: str
    """Cron schedule of every model's retraining CronJob."""
    time_zone: str
    """IANA time zone the schedule is read in."""
    nodes: int
    """GPU nodes one run spans (pods of the Indexed Job)."""
    gpus_per_node: int
    """GPUs each pod requests."""
    resources: common.PodResources
    """CPU and memory of each pod."""
    active_deadline_seconds: int
    """A run still going after this long is stopped."""
    backoff_limit: int
    """Retries of a failed pod."""
    efa: bool
    """GPU nodes carry an EFA interface: each training pod requests it, so NCCL uses EFA."""
    tracking_uri: str | None
    """The tracking server runs log to and promote through; None: the stack has none."""
    harvest_schedule: str
    """Cron schedule of the harvest CronJob (read in `time_zone`)."""
    schedule_suspended: bool
    """True where the pipeline runs on Argo Workflows: its CronWorkflow keeps the schedule, and
    this CronJob stays only as the template of a one-off Job (`kubectl create job --from`)."""


class Training(pulumi.ComponentResource):
    cronjob_names: dict[str, pulumi.Output[str]]
    """Each model's retraining CronJob."""

    def __init__(
        self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:workloads:Training", name, None, opts)
        child = pulumi.ResourceOptions(provider=args.k8s_provider, parent=self)
        labels = common.labels(NAME, COMPONENT)
        account = common.irsa_service_account(
            f"{name}-sa", TRAINING_SERVICE_ACCOUNT, args.namespace, labels, args.role_arn, child
        )
        workers = self._workers_service(name, args, labels, child)
        # Ranks talk to each other (rendezvous and NCCL use many ports); Prometheus scrapes
        # the primary's metrics; nothing else gets in. One policy for every model's ranks.
        ranks = [same_workload(common.selector(NAME, COMPONENT))]
        network_policy(
            f"{name}-netpol",
            args.namespace,
            labels,
            ingress=[allow_from(ranks), allow_monitoring(TRAINING_METRICS_PORT)],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=ranks),
                *egress_dns_and_https(),
                *_egress_to_tracking(args),
            ],
            opts=child,
        )
        account_name = account.metadata.apply(lambda m: m.name or "")
        self.cronjob_names = {}
        for model in args.models:
            model_name = f"{name}-{model.name}"
            cronjob = self._retrain_cronjob(model_name, args, model, account_name, workers, child)
            self.cronjob_names[model.name] = cronjob.metadata.apply(lambda m: m.name or "")
            declare_harvest(f"{model_name}-harvest", _harvest_job(args, model, account_name), child)
            declare_model_jobs(model_name, _model_jobs(args, model, account_name), child)
        self.register_outputs({"cronjobNames": self.cronjob_names})

    @staticmethod
    def _retrain_cronjob(
        name: str,
        args: TrainingArgs,
        model: ModelSpec,
        account: pulumi.Input[str],
        workers: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> k8s.batch.v1.CronJob:
        # The model label on the pods only: every model's ranks share the Service and policy.
        pod_labels = common.labels(NAME, COMPONENT, model.name)
        return k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=common.metadata(retrain_cronjob(model.name), args.namespace, pod_labels),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=args.schedule,
                time_zone=args.time_zone,
                suspend=args.schedule_suspended,
                # One retraining of the model at a time, whoever started it (schedule,
                # trigger or a person).
                concurrency_policy="Forbid",
                starting_deadline_seconds=3600,
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=Training._job_spec(args, model, account, workers, pod_labels),
                ),
            ),
            opts=opts,
        )

    @staticmethod
    def _workers_service(
        name: str, args: TrainingArgs, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """The headless Service that names each rank (`<job>-<index>.trainer`)."""
        workers = k8s.core.v1.Service(
            f"{name}-workers",
            metadata=common.metadata(NAME, args.namespace, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None",
                selector=common.selector(NAME, COMPONENT),
                # Rank 0 must resolve before it is "ready": the other ranks dial it at start.
                publish_not_ready_addresses=True,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name="rendezvous", port=RENDEZVOUS_PORT, protocol="TCP"
                    )
                ],
            ),
            opts=opts,
        )
        return workers.metadata.apply(lambda m: m.name or "")

    @staticmethod
    def _job_spec(
        args: TrainingArgs,
        model: ModelSpec,
        account: pulumi.Input[str],
        subdomain: pulumi.Input[str],
        labels: dict[str, str],
    ) -> k8s.batch.v1.JobSpecArgs:
        on_gpus = trains_on_gpus(model)
        nodes = args.nodes if on_gpus else 1
        return k8s.batch.v1.JobSpecArgs(
            completion_mode="Indexed",
            completions=nodes,
            parallelism=nodes,
            backoff_limit=args.backoff_limit,
            active_deadline_seconds=args.active_deadline_seconds,
            ttl_seconds_after_finished=common.JOB_TTL_SECONDS,
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(
                    restart_policy="Never",
                    subdomain=subdomain,
                    service_account_name=account,
                    automount_service_account_token=False,
                    security_context=common.pod_security_context(),
                    # A pending pod that tolerates the taint and requests a GPU is what scales
                    # the GPU pool up from zero; nothing else can land there. A CPU-trained
                    # family stays on the system nodes.
                    node_selector=GPU_NODE_SELECTOR if on_gpus else None,
                    tolerations=[_toleration(t) for t in GPU_TOLERATIONS] if on_gpus else None,
                    containers=[_trainer_container(args, model)],
                    volumes=[
                        common.tmp_volume("10Gi"),
                        # NCCL and DataLoader workers share tensors through /dev/shm, which is
                        # only 64Mi in a container by default.
                        k8s.core.v1.VolumeArgs(
                            name="dshm",
                            empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                                medium="Memory", size_limit="2Gi"
                            ),
                        ),
                    ],
                ),
            ),
        )


def _harvest_job(args: TrainingArgs, model: ModelSpec, account: pulumi.Input[str]) -> HarvestJob:
    return HarvestJob(
        namespace=args.namespace,
        image=args.image,
        service_account=account,
        bucket=args.bucket,
        region=args.region,
        model=model,
        schedule=args.harvest_schedule,
        time_zone=args.time_zone,
    )


def _model_jobs(args: TrainingArgs, model: ModelSpec, account: pulumi.Input[str]) -> ModelJobs:
    return ModelJobs(
        namespace=args.namespace,
        image=args.app_image,
        service_account=account,
        bucket=args.bucket,
        region=args.region,
        model=model,
        tracking_uri=args.tracking_uri,
    )


def trainer_settings(args: TrainingArgs, model: ModelSpec) -> dict[str, str | pulumi.Input[str]]:
    """The training pods' app settings, the pipeline's pods' too (workflow_template.py)."""
    return {
        "bucket": args.bucket,
        "aws_region": args.region,
        **training_settings(model),
        "metrics_port": str(TRAINING_METRICS_PORT),
        "metrics_linger_seconds": str(METRICS_LINGER_SECONDS),
        **({"tracking_uri": args.tracking_uri} if args.tracking_uri else {}),
    }


def _egress_to_tracking(args: TrainingArgs) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """The tracking server's pods, on its port only, when the stack runs one."""
    if args.tracking_uri is None:
        return []
    return [
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[namespace_peer(TRACKING_NAMESPACE)],
            ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=TRACKING_PORT, protocol="TCP")],
        )
    ]


def torchrun_args(nodes: int, gpus_per_node: int) -> list[str]:
    """torchrun with static rendezvous at rank 0; `$(VAR)` is expanded by the kubelet."""
    return [
        f"--nnodes={nodes}",
        f"--nproc-per-node={gpus_per_node}",
        "--node-rank=$(NODE_RANK)",
        "--master-addr=$(JOB_NAME)-0.$(WORKERS_SERVICE)",
        f"--master-port={RENDEZVOUS_PORT}",
        "-m",
        "app",
        "retrain",
    ]


def _device_limits(args: TrainingArgs) -> dict[str, str]:
    """GPUs, and the node's EFA interface where there is one: a pod that does not request
    `vpc.amazonaws.com/efa` gets no EFA device, and NCCL silently falls back to TCP."""
    limits = {GPU_RESOURCE: str(args.gpus_per_node)}
    if args.efa:
        limits[EFA_RESOURCE] = "1"
    return limits


def _toleration(toleration: dict[str, str]) -> k8s.core.v1.TolerationArgs:
    return k8s.core.v1.TolerationArgs(
        key=toleration["key"],
        operator=toleration["operator"],
        value=toleration["value"],
        effect=toleration["effect"],
    )


def _field_env(name: str, path: str) -> k8s.core.v1.EnvVarArgs:
    return k8s.core.v1.EnvVarArgs(
        name=name,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path=path)
        ),
    )


def _trainer_container(args: TrainingArgs, model: ModelSpec) -> k8s.core.v1.ContainerArgs:
    launcher_env = [
        _field_env("NODE_RANK", "metadata.annotations['batch.kubernetes.io/job-completion-index']"),
        _field_env("JOB_NAME", "metadata.labels['batch.kubernetes.io/job-name']"),
        k8s.core.v1.EnvVarArgs(name="WORKERS_SERVICE", value=NAME),
        # Libraries cache under $HOME; the root filesystem is read-only.
        k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),  # noqa: S108
    ]
    on_gpus = trains_on_gpus(model)
    return k8s.core.v1.ContainerArgs(
        name=NAME,
        image=args.image,
        image_pull_policy="IfNotPresent",
        command=["torchrun"] if on_gpus else ["python"],
        args=torchrun_args(args.nodes, args.gpus_per_node) if on_gpus else ["-m", "app", "retrain"],
        env=[
            *settings_env(trainer_settings(args, model)),
            *launcher_env,
        ],
        ports=[
            k8s.core.v1.ContainerPortArgs(
                name="rendezvous", container_port=RENDEZVOUS_PORT, protocol="TCP"
            ),
            k8s.core.v1.ContainerPortArgs(
                name=METRICS_PORT_NAME, container_port=TRAINING_METRICS_PORT, protocol="TCP"
            ),
        ],
        resources=common.resources(args.resources, extra_limits=_device_limits(args))
        if on_gpus
        else common.resources(CPU_TRAINING_RESOURCES),
        security_context=common.container_security_context(),
        volume_mounts=[
            common.tmp_mount(),
            k8s.core.v1.VolumeMountArgs(name="dshm", mount_path="/dev/shm"),  # noqa: S108,
        ],
    )
