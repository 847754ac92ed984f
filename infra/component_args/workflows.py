"""Args of Argo Workflows and the retrain-pipeline template."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from infra.component_args.workloads import pod_resources
from infra.components.cluster import EksCluster
from infra.components.workflow_template import PipelineSettings
from infra.components.workflows import WorkflowsArgs
from infra.components.workloads import Namespaces, TrainingArgs
from infra.config import StackConfig


def has_workflows(config: StackConfig) -> bool:
    """Argo Workflows is installed: enabled, beside the cluster and the tracking server it
    needs. Without them nothing is declared rather than refused, so a stage without either
    (the first deploy's network stage) needs no extra switch."""
    return config.workflows.enabled and config.cluster.enabled and config.tracking.enabled


def workflows(
    config: StackConfig,
    cluster: EksCluster,
    spaces: Namespaces,
    training: TrainingArgs,
    monitoring: pulumi.Resource | None,
) -> WorkflowsArgs:
    settings = config.workflows
    monitors: Sequence[pulumi.Resource] = [monitoring] if monitoring is not None else []
    return WorkflowsArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.training,
        training=training,
        pipeline=PipelineSettings(
            candidates=list(settings.candidates),
            epochs=settings.epochs,
            parallelism=settings.parallelism,
            active_deadline_seconds=settings.active_deadline_seconds,
            retry_limit=settings.retry_limit,
        ),
        controller_resources=pod_resources(settings.controller_resources),
        monitoring_namespace=spaces.monitoring if monitoring is not None else None,
        monitoring=monitors,
    )
