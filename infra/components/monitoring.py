"""Prometheus, Alertmanager and Grafana (kube-prometheus-stack), GPU metrics (DCGM exporter),
the platform's scrape targets, alert rules and dashboards, all declared as code.

Data lives beside the code in infra/assets/ (values, rules, dashboards, routing); this
module only merges in what differs per stack and keeps every secret out of Helm values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.components import alerting
from infra.components import monitoring_files as files
from infra.components.alerting import AlertReceivers
from infra.components.helm import chart_values, deep_merge, pinned_release
from infra.components.monitoring_files import (
    ALERTMANAGER_CONFIG_SECRET,
    GRAFANA_ADMIN_SECRET,
    GrafanaAccess,
    PrometheusSizing,
)
from infra.components.scheduling import GPU_NODE_SELECTOR, GPU_TOLERATIONS
from infra.components.workloads import serving, training
from infra.components.workloads.common import COMPONENT_LABEL, NAME_LABEL
from infra.contracts import (
    HTTP_PORT_NAME,
    METRICS_PATH,
    METRICS_PORT_NAME,
    MODEL_LABEL,
    MODEL_METRIC_LABEL,
    TRACKING_SERVER,
    model_server,
)

STACK_CHART = "kube-prometheus-stack"
STACK_CHART_VERSION = "67.8.0"
STACK_REPO = "https://prometheus-community.github.io/helm-charts"
DCGM_CHART = "dcgm-exporter"
DCGM_CHART_VERSION = "4.1.3"
DCGM_REPO = "https://nvidia.github.io/dcgm-exporter/helm-charts"

DASHBOARD_LABEL = "grafana_dashboard"
MONITOR_API = "monitoring.coreos.com/v1"
SERVING_SELECTOR = {NAME_LABEL: serving.NAME}
TRAINING_SELECTOR = {COMPONENT_LABEL: training.COMPONENT}
TRACKING_SELECTOR = {NAME_LABEL: TRACKING_SERVER}
# Only rank 0 of a distributed run serves /metrics; scraping every rank would leave the other
# ranks' targets down (TargetDown) for the whole run. Kubernetes labels each pod of an
# Indexed Job with its index (1.28 and later), and rank = index (NODE_RANK in training.py).
PRIMARY_RANK_SELECTOR = {**TRAINING_SELECTOR, "batch.kubernetes.io/job-completion-index": "0"}


def sanitized(label: str) -> str:
    """A Kubernetes label key as Prometheus' service discovery names it (`a/b-c` -> `a_b_c`)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


# Every series scraped from a model's pods carries `model="<name>"`, copied from the pod's
# model label, so rules and dashboards group by model whatever the app's metrics carry.
MODEL_RELABELING = {
    "sourceLabels": [f"__meta_kubernetes_pod_label_{sanitized(MODEL_LABEL)}"],
    "targetLabel": MODEL_METRIC_LABEL,
    "action": "replace",
}


def serving_monitor_spec(namespace: pulumi.Input[str], model: str) -> dict[str, Any]:
    """One model's ServiceMonitor: its Service's pods, with the model label on every series;
    `job` stays `model-server` for every model (the Services' name label)."""
    return {
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {"matchLabels": {**SERVING_SELECTOR, MODEL_LABEL: model}},
        "jobLabel": NAME_LABEL,
        "endpoints": [
            {
                "port": HTTP_PORT_NAME,
                "path": METRICS_PATH,
                "interval": "15s",
                "relabelings": [MODEL_RELABELING],
            }
        ],
    }


@dataclass(frozen=True, kw_only=True)
class GrafanaLogs:
    """The container logs Grafana shows beside the metrics (CloudWatch Logs Insights)."""

    region: str
    log_group_name: pulumi.Input[str]
    log_group_arn: pulumi.Input[str]
    reader_role_arn: pulumi.Input[str]
    """IRSA role of Grafana's service account: may query that group only."""


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster."""
    namespace: pulumi.Input[str]
    """Namespace of the whole stack (created, privileged, by the workloads code)."""
    serving_namespace: pulumi.Input[str]
    """Namespace of the model-server pods scraped by the ServiceMonitor."""
    training_namespace: pulumi.Input[str]
    """Namespace of the training jobs scraped by the PodMonitor."""
    tracking_namespace: pulumi.Input[str] | None
    """Namespace of the MLflow tracking server scraped by a ServiceMonitor; None: no server."""
    models: Sequence[str]
    """The models served: a ServiceMonitor each, and a retraining route each."""
    retrain_webhook_urls: Mapping[str, pulumi.Input[str]]
    """Each model's in-cluster URL Alertmanager posts its drift alerts to, to retrain it."""
    retrain_webhook_token: pulumi.Input[str]
    """Bearer token the retrain webhook demands (Pulumi secret)."""
    grafana_admin_password: pulumi.Input[str]
    """Grafana's admin password (Pulumi secret)."""
    grafana_sso_client_secret: pulumi.Input[str] | None
    """Client secret of Grafana's single sign-on (Pulumi secret), with `grafana.sso`."""
    receivers: AlertReceivers[pulumi.Input[str]]
    """Where alerts go besides retraining, with the secrets they send with."""
    sizing: PrometheusSizing
    """Retention, volumes and replicas of Prometheus and Alertmanager."""
    drift_minutes: int
    """Minutes drift must last before ModelDataDrift fires."""
    grafana: GrafanaAccess
    """How Grafana is reached."""
    logs: GrafanaLogs | None
    """The logs data source; None: no log panels can load."""
    vpc_cidr: str
    """The VPC's range: who may reach an internal Grafana load balancer."""


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack + DCGM exporter + the platform's monitors, rules and dashboards."""

    release_name: pulumi.Output[str]
    grafana_service: pulumi.Output[str]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(provider=args.k8s_provider, parent=self)

        secrets = self._setup_secrets(name, args, child)
        stack = pinned_release(
            f"{name}-stack",
            STACK_CHART,
            (STACK_REPO, STACK_CHART, STACK_CHART_VERSION),
            _with_logs(
                chart_values(
                    STACK_CHART, files.stack_values(args.sizing, args.grafana, args.vpc_cidr)
                ),
                args.logs,
            ),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=secrets)),
            namespace=args.namespace,
            # CRDs and the operator must be up before monitors and rules are applied.
            timeout=900,
        )
        after_stack = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[stack])
        )
        self._setup_gpu_metrics(name, args, after_stack)
        self._monitors(name, args, after_stack)
        self._tracking_monitor(name, args, after_stack)
        self._rules(name, args, after_stack)
        self._dashboards(name, args, child)

        self.release_name = stack.name.apply(lambda n: n or STACK_CHART)
        self.grafana_service = self.release_name.apply(lambda n: f"{n}-grafana")
        self.register_outputs(
            {"releaseName": self.release_name, "grafanaService": self.grafana_service}
        )

    @staticmethod
    def _setup_secrets(
        name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """Grafana's admin login and the Alertmanager config: Secrets, never Helm values."""
        grafana = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=_meta(GRAFANA_ADMIN_SECRET, args.namespace),
            string_data={
                "admin-user": "admin",
                "admin-password": pulumi.Output.secret(args.grafana_admin_password),
            },
            opts=opts,
        )
        alertmanager = k8s.core.v1.Secret(
            f"{name}-alertmanager-config",
            metadata=_meta(ALERTMANAGER_CONFIG_SECRET, args.namespace),
            string_data={"alertmanager.yaml": _alertmanager_yaml(args)},
            opts=opts,
        )
        secrets: list[pulumi.Resource] = [grafana, alertmanager]
        if args.grafana.sso is not None and args.grafana_sso_client_secret is not None:
            secrets.append(
                k8s.core.v1.Secret(
                    f"{name}-grafana-sso",
                    metadata=_meta(files.GRAFANA_SSO_SECRET, args.namespace),
                    string_data={
                        "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET": pulumi.Output.secret(
                            args.grafana_sso_client_secret
                        )
                    },
                    opts=opts,
                )
            )
        return secrets

    @staticmethod
    def _setup_gpu_metrics(name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions) -> None:
        pinned_release(
            f"{name}-dcgm",
            DCGM_CHART,
            (DCGM_REPO, DCGM_CHART, DCGM_CHART_VERSION),
            chart_values(
                DCGM_CHART, {"nodeSelector": GPU_NODE_SELECTOR, "tolerations": GPU_TOLERATIONS}
            ),
            opts,
            namespace=args.namespace,
        )

    def _monitors(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions) -> None:
        for model in args.models:
            k8s.apiextensions.CustomResource(
                f"{name}-serving-{model}",
                api_version=MONITOR_API,
                kind="ServiceMonitor",
                metadata=_meta(model_server(model), args.namespace),
                spec=serving_monitor_spec(args.serving_namespace, model),
                opts=opts,
            )
        # Training pods live minutes to hours; scraping them directly (no Pushgateway) keeps
        # one source of truth, and their final values are also written to the model metadata.
        k8s.apiextensions.CustomResource(
            f"{name}-training",
            api_version=MONITOR_API,
            kind="PodMonitor",
            metadata=_meta("training-jobs", args.namespace),
            spec={
                "namespaceSelector": {"matchNames": [args.training_namespace]},
                "selector": {"matchLabels": PRIMARY_RANK_SELECTOR},
                "podMetricsEndpoints": [
                    {
                        "port": METRICS_PORT_NAME,
                        "path": METRICS_PATH,
                        "interval": "15s",
                        "relabelings": [MODEL_RELABELING],
                    }
                ],
            },
            opts=opts,
        )

    @staticmethod
    def _tracking_monitor(name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions) -> None:
        if args.tracking_namespace is None:
            return
        k8s.apiextensions.CustomResource(
            f"{name}-tracking",
            api_version=MONITOR_API,
            kind="ServiceMonitor",
            metadata=_meta(TRACKING_SERVER, args.namespace),
            spec={
                "namespaceSelector": {"matchNames": [args.tracking_namespace]},
                "selector": {"matchLabels": TRACKING_SELECTOR},
                "endpoints": [{"port": HTTP_PORT_NAME, "path": METRICS_PATH, "interval": "30s"}],
            },
            opts=opts,
        )

    def _rules(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions) -> None:
        for path in files.rule_files():
            area = path.name.removesuffix(".rules.yaml")
            k8s.apiextensions.CustomResource(
                f"{name}-rules-{area}",
                api_version=MONITOR_API,
                kind="PrometheusRule",
                metadata=_meta(f"mlops-{area}", args.namespace),
                spec={"groups": files.rule_groups(path, args.drift_minutes, files.RUNBOOK_PREFIX)},
                opts=opts,
            )

    @staticmethod
    def _dashboard_data(path: Path, logs: GrafanaLogs | None) -> pulumi.Input[str]:
        if logs is None or not files.has_log_panels(path):
            return files.dashboard_json(path)
        return _log_group(logs).apply(lambda group: files.dashboard_json(path, group))

    def _dashboards(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions) -> None:
        # Plain ConfigMaps: the Grafana sidecar picks them up by label, no chart change needed.
        for path in files.dashboard_files():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{path.stem}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"dashboard-{path.stem}",
                    namespace=args.namespace,
                    labels={**_labels(), DASHBOARD_LABEL: "1"},
                    annotations={"grafana_folder": "MLOps"},
                ),
                data={path.name: self._dashboard_data(path, args.logs)},
                opts=opts,
            )


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "mlops-platform", "app.kubernetes.io/managed-by": "pulumi"}


def _meta(object_name: str, namespace: pulumi.Input[str]) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=namespace, labels=_labels())


def _alertmanager_yaml(args: MonitoringArgs) -> pulumi.Output[str]:
    """alertmanager.yaml, built once every secret it embeds is known; itself a secret."""
    inputs: dict[str, pulumi.Input[Any]] = {
        "receivers": alerting.resolved(args.receivers),
        "urls": pulumi.Output.all(**args.retrain_webhook_urls),
        "token": args.retrain_webhook_token,
    }
    rendered = pulumi.Output.all(**inputs).apply(
        lambda v: yaml.safe_dump(
            alerting.alertmanager_config(v["receivers"], v["urls"], v["token"]),
            sort_keys=False,
        )
    )
    return pulumi.Output.secret(rendered)


def _with_logs(values: dict[str, Any], logs: GrafanaLogs | None) -> pulumi.Input[dict[str, Any]]:
    """Grafana's CloudWatch data source (uid `cloudwatch`, which the dashboards' log panels
    name) with the stack's log group as its default, and the role that may read it."""
    if logs is None:
        return values
    return pulumi.Output.all(_log_group(logs), logs.reader_role_arn).apply(
        lambda pair: deep_merge(
            values, {"grafana": files.grafana_logs_values(logs.region, pair[0], pair[1])}
        )
    )


def _log_group(logs: GrafanaLogs) -> pulumi.Output[files.LogGroupRef]:
    return pulumi.Output.all(logs.log_group_name, logs.log_group_arn).apply(
        lambda pair: files.LogGroupRef(name=pair[0], arn=pair[1])
    )
