"""A model's retrain-pipeline WorkflowTemplate spec: prepare → one GPU pod per candidate → finish.

One template per model (`retrain-pipeline-<model>`) rather than one with a `model` parameter:
the retrain trigger submits a template by name with its parameters' defaults, and each
model's pods need that model's settings (name, dataset, family, rollout mode) in their env.

A pure builder (declares nothing), so tests validate its shape against Argo's schema. Every
pod is a training pod: the trainer's image, settings env, ServiceAccount (IRSA role), security
context and GPU-pool scheduling, built from the same `TrainingArgs` and `common` builders as the
CronJob's. Only the candidates request GPUs; prepare and finish run on the same GPU pool (the
node a run scales up serves all three) with the same CPU and memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.scheduling import (
    EFA_RESOURCE,
    GPU_NODE_SELECTOR,
    GPU_RESOURCE,
    GPU_TOLERATIONS,
)
from infra.components.workloads import common
from infra.components.workloads.models import (
    CPU_TRAINING_RESOURCES,
    TREE_CANDIDATES,
    ModelSpec,
    trains_on_gpus,
)
from infra.components.workloads.settings_env import settings_env
from infra.components.workloads.training import TrainingArgs, trainer_settings
from infra.contracts import (
    PIPELINE_CANDIDATES_PARAMETER,
    PIPELINE_EPOCHS_PARAMETER,
    PIPELINE_PROMOTE_PARAMETER,
    RETRAIN_PIPELINE,
    TRAINING_SERVICE_ACCOUNT,
    retrain_pipeline,
)

COMPONENT = "training"
RUN_ID_FILE = "/tmp/run-id"  # noqa: S108 - the pod's own emptyDir
_APP = ["python", "-m", "app", "pipeline"]
_RUN_ID = "{{tasks.prepare.outputs.parameters.run-id}}"
# An empty run id: prepare found the data trained on already, so nothing else runs.
_PREPARED = f"'{_RUN_ID}' != ''"
# Retry what the pod suffered (evicted, its node reclaimed, deleted, OOM-killed), never what
# the app decided: exit 1 is its error (bad data, a failed run), exit 2 a usage error.
_TRANSIENT = (
    'lastRetry.status == "Error" or '
    '(lastRetry.status == "Failed" and asInt(lastRetry.exitCode) not in [1, 2])'
)


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """What the stack decides about a pipeline run (config `workflows`)."""

    candidates: list[str]
    """Default `candidates` parameter, HIDDEN:LR each."""
    epochs: int
    """Default `epochs` parameter."""
    parallelism: int
    """Pods of one run at once."""
    active_deadline_seconds: int
    """A run still going after this long is stopped."""
    retry_limit: int
    """Retries of a step whose pod failed for a reason outside the app."""


def pipeline_labels(model: str | None = None) -> dict[str, str]:
    """Labels of every pod of a model's runs; the NetworkPolicy selects every model's (no
    model given)."""
    return common.labels(RETRAIN_PIPELINE, COMPONENT, model)


def trainer_env(args: TrainingArgs, model: ModelSpec) -> list[k8s.core.v1.EnvVarArgs]:
    """The training pods' settings env (training.py's `_trainer_container`) without torchrun's
    launcher variables; tests hold the two equal."""
    return [
        *settings_env(trainer_settings(args, model)),
        # Libraries cache under $HOME; the root filesystem is read-only.
        k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),  # noqa: S108
    ]


def _container(
    args: TrainingArgs, model: ModelSpec, command: list[str], *, gpus: bool
) -> dict[str, pulumi.Input[Any]]:
    gpus = gpus and trains_on_gpus(model)
    limits = {GPU_RESOURCE: str(args.gpus_per_node)} if gpus else {}
    if gpus and args.efa:
        limits[EFA_RESOURCE] = "1"
    pod = args.resources if trains_on_gpus(model) else CPU_TRAINING_RESOURCES
    return {
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": trainer_env(args, model),
        "resources": common.resources(pod, extra_limits=limits),
        "securityContext": common.container_security_context(),
        "volumeMounts": [
            common.tmp_mount(),
            k8s.core.v1.VolumeMountArgs(name="dshm", mount_path="/dev/shm"),  # noqa: S108
        ],
    }


def _pod_template(
    name: str,
    model: ModelSpec,
    container: dict[str, pulumi.Input[Any]],
    retry_policy: dict[str, Any],
) -> dict[str, Any]:
    # A pending pod that tolerates the taint and selects the GPU pool is what scales that pool
    # up from zero (the autoscaler reads both from the node group); nothing else lands there.
    # A CPU-trained family's steps stay on the system nodes.
    placement: dict[str, Any] = (
        {"nodeSelector": GPU_NODE_SELECTOR, "tolerations": GPU_TOLERATIONS}
        if trains_on_gpus(model)
        else {}
    )
    return {"name": name, **placement, "retryStrategy": retry_policy, "container": container}


def _candidate_command(args: TrainingArgs, model: ModelSpec) -> list[str]:
    step = [
        "pipeline",
        "candidate",
        "--run-id",
        "{{inputs.parameters.run-id}}",
        "--candidate",
        "{{inputs.parameters.candidate}}",
        "--epochs",
        f"{{{{workflow.parameters.{PIPELINE_EPOCHS_PARAMETER}}}}}",
    ]
    if args.gpus_per_node == 1 or not trains_on_gpus(model):
        return [*_APP, *step[1:]]
    # Several GPUs in the pod: one process each, rank 0 logs (DDP within the node).
    return [
        "torchrun",
        "--standalone",
        f"--nproc-per-node={args.gpus_per_node}",
        "-m",
        "app",
        *step,
    ]


def _templates(
    args: TrainingArgs, model: ModelSpec, settings: PipelineSettings
) -> list[dict[str, Any]]:
    backoff = {"duration": "30s", "factor": "2", "maxDuration": "15m"}
    transient = {
        "limit": str(settings.retry_limit),
        "retryPolicy": "Always",
        "expression": _TRANSIENT,
        "backoff": backoff,
    }
    # finish registers a model version: rerun it only when its pod never ran to an exit code.
    errors_only = {"limit": str(settings.retry_limit), "retryPolicy": "OnError", "backoff": backoff}
    prepare = _pod_template(
        "prepare",
        model,
        _container(
            args,
            model,
            [*_APP, "prepare", "--skip-unchanged", "--run-id-file", RUN_ID_FILE],
            gpus=False,
        ),
        transient,
    )
    prepare["outputs"] = {
        "parameters": [{"name": "run-id", "valueFrom": {"path": RUN_ID_FILE, "default": ""}}]
    }
    candidate = _pod_template(
        "candidate",
        model,
        _container(args, model, _candidate_command(args, model), gpus=True),
        transient,
    )
    candidate["inputs"] = {"parameters": [{"name": "run-id"}, {"name": "candidate"}]}
    finish = [
        _finish("finish", args, model, errors_only, promote=True),
        _finish("finish-without-promotion", args, model, errors_only, promote=False),
    ]
    abandon = _pod_template(
        "abandon",
        model,
        _container(
            args,
            model,
            [*_APP, "abandon", "--run-id", "{{inputs.parameters.run-id}}"],
            gpus=False,
        ),
        transient,
    )
    abandon["inputs"] = {"parameters": [{"name": "run-id"}]}
    return [_dag(), prepare, candidate, *finish, abandon]


def _finish(
    name: str,
    args: TrainingArgs,
    model: ModelSpec,
    retry_policy: dict[str, Any],
    *,
    promote: bool,
) -> dict[str, Any]:
    command = [
        "python",
        "-m",
        "app",
        "pipeline",
        "finish",
        "--run-id",
        "{{inputs.parameters.run-id}}",
    ]
    finish = _pod_template(
        name,
        model,
        _container(args, model, command + (["--promote"] if promote else []), gpus=False),
        retry_policy,
    )
    finish["inputs"] = {"parameters": [{"name": "run-id"}]}
    return finish


def _dag() -> dict[str, Any]:
    run_id = {"name": "run-id", "value": _RUN_ID}
    promote = f"'{{{{workflow.parameters.{PIPELINE_PROMOTE_PARAMETER}}}}}' == 'true'"

    def finish(name: str, when: str) -> dict[str, Any]:
        # A container argument cannot be left out by a parameter: one task per choice.
        return {
            "name": name,
            "template": name,
            "depends": "candidate",
            "when": when,
            "arguments": {"parameters": [run_id]},
        }

    return {
        "name": "retrain",
        "dag": {
            "tasks": [
                {"name": "prepare", "template": "prepare"},
                {
                    "name": "candidate",
                    "template": "candidate",
                    "depends": "prepare",
                    "when": _PREPARED,
                    "withParam": f"{{{{workflow.parameters.{PIPELINE_CANDIDATES_PARAMETER}}}}}",
                    "arguments": {
                        "parameters": [run_id, {"name": "candidate", "value": "{{item}}"}]
                    },
                },
                finish("finish", f"{_PREPARED} && {promote}"),
                finish("finish-without-promotion", f"{_PREPARED} && !({promote})"),
                # finish does not run when a candidate failed: this ends the training's run
                # (FAILED), so the next retraining trains the data again.
                {
                    "name": "abandon",
                    "template": "abandon",
                    "depends": "candidate.Failed || candidate.Errored",
                    "when": _PREPARED,
                    "arguments": {"parameters": [run_id]},
                },
            ]
        },
    }


def retrain_pipeline_spec(
    args: TrainingArgs, model: ModelSpec, settings: PipelineSettings, executor_account: str
) -> dict[str, Any]:
    """The spec of `model`'s WorkflowTemplate (Argo's JSON shape; Pulumi inputs inside);
    `executor_account` runs Argo's init and wait containers, the only ones with an API token."""
    return {
        "entrypoint": "retrain",
        "arguments": {
            "parameters": [
                {
                    "name": PIPELINE_CANDIDATES_PARAMETER,
                    "value": json.dumps(
                        settings.candidates if trains_on_gpus(model) else list(TREE_CANDIDATES)
                    ),
                    "description": 'JSON list of "HIDDEN:LR" candidates, one GPU pod each',
                },
                {
                    "name": PIPELINE_EPOCHS_PARAMETER,
                    "value": str(settings.epochs),
                    "description": "epochs per candidate",
                },
                {
                    "name": PIPELINE_PROMOTE_PARAMETER,
                    "value": "true",
                    "enum": ["true", "false"],
                    "description": "promote the best candidate if it beats the served model",
                },
            ]
        },
        # The trainer's IRSA role for the app; the main containers get no Kubernetes token,
        # only Argo's own init/wait containers do, as the executor account.
        "serviceAccountName": TRAINING_SERVICE_ACCOUNT,
        "automountServiceAccountToken": False,
        "executor": {"serviceAccountName": executor_account},
        "securityContext": common.pod_security_context(),
        "podMetadata": {"labels": pipeline_labels(model.name)},
        "volumes": [
            common.tmp_volume("10Gi"),
            # NCCL and DataLoader workers share tensors through /dev/shm (64Mi by default).
            k8s.core.v1.VolumeArgs(
                name="dshm",
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="2Gi"),
            ),
        ],
        "parallelism": settings.parallelism,
        "activeDeadlineSeconds": settings.active_deadline_seconds,
        # One run of the model at a time, whoever submits it: two would race to promote.
        # Two models' runs may overlap; the GPU pool's size bounds them.
        "synchronization": {"mutexes": [{"name": retrain_pipeline(model.name)}]},
        # Succeeded pods go at once; a failed one stays (logs, describe) until its workflow
        # is deleted with everything it owns.
        "podGC": {"strategy": "OnPodSuccess"},
        "ttlStrategy": {"secondsAfterCompletion": common.JOB_TTL_SECONDS},
        "templates": _templates(args, model, settings),
    }


def retrain_schedule_spec(args: TrainingArgs, model: ModelSpec) -> dict[str, Any]:
    """The spec of `model`'s CronWorkflow: the retraining schedule submits its pipeline, one
    run at a time (the template's mutex holds against the trigger's runs too)."""
    return {
        "schedules": [args.schedule],
        "timezone": args.time_zone,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 3600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "workflowSpec": {"workflowTemplateRef": {"name": retrain_pipeline(model.name)}},
    }
