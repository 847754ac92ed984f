"""Argo Workflows in the training namespace, and each model's retraining pipeline as a
WorkflowTemplate with a CronWorkflow that submits it on the retraining schedule.

The controller alone (no Argo Server: nothing to expose or log in to), namespace-scoped to the
training namespace, on the system pool. A pipeline's pods are training pods
(infra/components/workflow_template.py); Argo's own init and wait containers in them run as
an executor account that may only report step results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components.helm import chart_values, pinned_release
from infra.components.scheduling import SYSTEM_NODE_SELECTOR
from infra.components.workflow_template import (
    PipelineSettings,
    pipeline_labels,
    retrain_pipeline_spec,
    retrain_schedule_spec,
)
from infra.components.workloads import common
from infra.components.workloads.network_policies import (
    Egress,
    allow_monitoring,
    egress_dns_and_https,
    namespace_peer,
    network_policy,
)
from infra.components.workloads.training import TrainingArgs
from infra.contracts import (
    METRICS_PATH,
    RETRAIN_PIPELINE,
    RETRAIN_TRIGGER,
    TRACKING_NAMESPACE,
    TRACKING_PORT,
    WORKFLOWS_API_GROUP,
    retrain_pipeline,
    retrain_schedule,
)

# Pinned: an upgrade is a reviewed change. 2.0.1 (Argo Workflows v4.1.0) is the newest chart
# found in argo-helm's sources when this was written; it could not be checked against the
# published index (https://argoproj.github.io/argo-helm/index.yaml) from where it was written.
WORKFLOWS_CHART = ("https://argoproj.github.io/argo-helm", "argo-workflows", "2.0.1")
RELEASE = "argo-workflows"
WORKFLOWS_API = f"{WORKFLOWS_API_GROUP}/v1alpha1"
EXECUTOR_ACCOUNT = f"{RETRAIN_PIPELINE}-executor"
# What the chart labels the controller's pods and metrics Service with.
CONTROLLER_SELECTOR = {
    common.NAME_LABEL: f"{RELEASE}-workflow-controller",
    "app.kubernetes.io/instance": RELEASE,
}
CONTROLLER_METRICS_PORT = 9090
MONITOR_API = "monitoring.coreos.com/v1"


@dataclass(frozen=True, kw_only=True)
class WorkflowsArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster."""
    namespace: pulumi.Input[str]
    """The training namespace: the controller, its workflows and their pods."""
    training: TrainingArgs
    """The training pods' image, settings, resources and GPU needs: the pipeline's pods'."""
    pipeline: PipelineSettings
    """Defaults and limits of a pipeline run."""
    controller_resources: common.PodResources
    """CPU and memory of the workflow controller."""
    monitoring_namespace: pulumi.Input[str] | None
    """Where the controller's ServiceMonitor goes; None: the stack has no monitoring."""
    monitoring: Sequence[pulumi.Resource]
    """The monitoring stack whose CRDs the ServiceMonitor needs."""


class Workflows(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: WorkflowsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:workflows:Workflows", name, None, opts)
        # Pulumi does not pass a component's depends_on on to its children: the chart's pods
        # need the nodes, the template's pods the trainer account.
        child = pulumi.ResourceOptions(
            provider=args.k8s_provider,
            parent=self,
            depends_on=opts.depends_on if opts is not None else None,
        )
        release = pinned_release(
            f"{name}-controller",
            RELEASE,
            WORKFLOWS_CHART,
            chart_values(RELEASE, _per_stack_values(args.controller_resources)),
            child,
            namespace=args.namespace,
            timeout=600,
        )
        executor = self._setup_executor(name, args, child)
        self._setup_trigger_access(name, args, child)
        self._setup_network_policies(name, args, child)
        if args.monitoring_namespace is not None:
            self._setup_monitor(name, args, args.monitoring_namespace, child)
        # The chart brings the CRDs: each template waits for the release, and for the account
        # its pods report as. One template and one schedule per model.
        for model in args.training.models:
            template_name = retrain_pipeline(model.name)
            template = k8s.apiextensions.CustomResource(
                f"{name}-retrain-pipeline-{model.name}",
                api_version=WORKFLOWS_API,
                kind="WorkflowTemplate",
                metadata=common.metadata(
                    template_name, args.namespace, pipeline_labels(model.name)
                ),
                spec=retrain_pipeline_spec(args.training, model, args.pipeline, EXECUTOR_ACCOUNT),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=[release, *executor])
                ),
            )
            # The schedule submits the pipeline too (the CronJob's own schedule is suspended).
            k8s.apiextensions.CustomResource(
                f"{name}-retrain-schedule-{model.name}",
                api_version=WORKFLOWS_API,
                kind="CronWorkflow",
                metadata=common.metadata(
                    retrain_schedule(model.name), args.namespace, pipeline_labels(model.name)
                ),
                spec=retrain_schedule_spec(args.training, model),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=[template])
                ),
            )
        self.register_outputs({})

    @staticmethod
    def _setup_executor(
        name: str, args: WorkflowsArgs, opts: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """The account of Argo's init and wait containers: it may record step results
        (WorkflowTaskResults, Argo 3.4 and later) and nothing else."""
        labels = common.labels(EXECUTOR_ACCOUNT, "workflows")
        account = k8s.core.v1.ServiceAccount(
            f"{name}-executor",
            metadata=common.metadata(EXECUTOR_ACCOUNT, args.namespace, labels),
            automount_service_account_token=False,
            opts=opts,
        )
        # Kubernetes 1.24+ creates no token Secret for an account; Argo mounts the one named
        # `<account>.service-account-token` into its own containers only (the pod's
        # `automountServiceAccountToken: false` keeps the app's containers without one).
        token = k8s.core.v1.Secret(
            f"{name}-executor-token",
            metadata=common.metadata(
                f"{EXECUTOR_ACCOUNT}.service-account-token",
                args.namespace,
                labels,
                annotations={"kubernetes.io/service-account.name": EXECUTOR_ACCOUNT},
            ),
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account])),
        )
        role = k8s.rbac.v1.Role(
            f"{name}-executor",
            metadata=common.metadata(EXECUTOR_ACCOUNT, args.namespace, labels),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[WORKFLOWS_API_GROUP],
                    resources=["workflowtaskresults"],
                    verbs=["create", "patch"],
                )
            ],
            opts=opts,
        )
        binding = _bind(f"{name}-executor", EXECUTOR_ACCOUNT, args.namespace, labels, opts)
        return [account, token, role, binding]

    @staticmethod
    def _setup_trigger_access(name: str, args: WorkflowsArgs, opts: pulumi.ResourceOptions) -> None:
        """The retrain triggers (every model's, one ServiceAccount) submit runs from their
        model's template and list them (by the `workflows.argoproj.io/workflow-template`
        label) to see whether one is going."""
        role_name = f"{RETRAIN_TRIGGER}-workflows"
        labels = common.labels(RETRAIN_TRIGGER, "trigger")
        k8s.rbac.v1.Role(
            f"{name}-trigger",
            metadata=common.metadata(role_name, args.namespace, labels),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[WORKFLOWS_API_GROUP],
                    resources=["workflows"],
                    verbs=["create", "get", "list"],
                )
            ],
            opts=opts,
        )
        _bind(f"{name}-trigger", RETRAIN_TRIGGER, args.namespace, labels, opts, role_name)

    @staticmethod
    def _setup_network_policies(
        name: str, args: WorkflowsArgs, opts: pulumi.ResourceOptions
    ) -> None:
        # Pipeline pods: S3, STS and the API server (Argo's wait container) over HTTPS, the
        # tracking server; nothing comes in (one pod per step, no rendezvous).
        network_policy(
            f"{name}-pipeline-netpol",
            args.namespace,
            pipeline_labels(),
            ingress=[],
            egress=[*egress_dns_and_https(), *_egress_to_tracking(args.training)],
            opts=opts,
        )
        # The controller: the API server (HTTPS) out, Prometheus in.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-controller-netpol",
            metadata=common.metadata(
                f"{RELEASE}-workflow-controller",
                args.namespace,
                common.labels(RELEASE, "workflows"),
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=CONTROLLER_SELECTOR),
                policy_types=["Ingress", "Egress"],
                ingress=[allow_monitoring(CONTROLLER_METRICS_PORT)],
                egress=egress_dns_and_https(),
            ),
            opts=opts,
        )

    @staticmethod
    def _setup_monitor(
        name: str, args: WorkflowsArgs, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> None:
        k8s.apiextensions.CustomResource(
            f"{name}-controller-monitor",
            api_version=MONITOR_API,
            kind="ServiceMonitor",
            metadata=common.metadata(
                f"{RELEASE}-controller", namespace, common.labels(RELEASE, "workflows")
            ),
            spec={
                "namespaceSelector": {"matchNames": [args.namespace]},
                "selector": {
                    "matchLabels": {
                        common.COMPONENT_LABEL: "workflow-controller",
                        "app.kubernetes.io/instance": RELEASE,
                    }
                },
                "endpoints": [{"port": "metrics", "path": METRICS_PATH, "interval": "30s"}],
            },
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=list(args.monitoring))
            ),
        )


def _per_stack_values(resources: common.PodResources) -> dict[str, object]:
    return {
        "controller": {
            "nodeSelector": SYSTEM_NODE_SELECTOR,
            "resources": {
                "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
                "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
            },
            "metricsConfig": {"port": CONTROLLER_METRICS_PORT},
        }
    }


def _bind(
    resource_name: str,
    account: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    role: str | None = None,
) -> k8s.rbac.v1.RoleBinding:
    return k8s.rbac.v1.RoleBinding(
        resource_name,
        metadata=common.metadata(role or account, namespace, labels),
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group="rbac.authorization.k8s.io", kind="Role", name=role or account
        ),
        subjects=[
            k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account, namespace=namespace)
        ],
        opts=opts,
    )


def _egress_to_tracking(training: TrainingArgs) -> list[Egress]:
    if training.tracking_uri is None:
        return []
    return [
        Egress(
            to=[namespace_peer(TRACKING_NAMESPACE)],
            ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=TRACKING_PORT, protocol="TCP")],
        )
    ]
