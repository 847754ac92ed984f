"""The monitoring data files (infra/monitoring/) and the pure functions that shape them.

Nothing here declares a resource: Helm values, alert rules, dashboards and the Alertmanager
config are read and merged here, and declared by `infra.components.monitoring`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import yaml

from infra.components.scheduling import ROLE_ARN_ANNOTATION
from infra.components.workloads.exposure import LB_ANNOTATION
from infra.contracts import GRAFANA_SERVICE_ACCOUNT

MONITORING_DIR = Path(__file__).resolve().parents[1] / "monitoring"
RULES_DIR = MONITORING_DIR / "rules"
DASHBOARDS_DIR = MONITORING_DIR / "dashboards"
VALUES_DIR = MONITORING_DIR / "values"
RUNBOOK_PREFIX = "https://github.com/mlops-platform/mlops-platform/blob/main/docs/monitoring.md"
"""Base of every rule's runbook_url as written in the rule files."""

DRIFT_ALERT = "ModelDataDrift"

Secret = TypeVar("Secret")
"""A secret's type: `pulumi.Input[str]` in component args, `str` once resolved."""


@dataclass(frozen=True, kw_only=True)
class SlackReceiver(Generic[Secret]):
    channel: str
    """Channel (or @user) to post to."""
    api_url: Secret
    """Incoming-webhook URL."""


@dataclass(frozen=True, kw_only=True)
class EmailReceiver(Generic[Secret]):
    to: str
    sender: str
    smarthost: str
    """SMTP server as host:port."""
    login: tuple[str, Secret] | None
    """SMTP username and password; None sends without authentication."""


@dataclass(frozen=True, kw_only=True)
class AlertReceivers(Generic[Secret]):
    """Where alerts go besides retraining (the `team` receiver); all None: nowhere."""

    webhook_url: Secret | None
    slack: SlackReceiver[Secret] | None
    email: EmailReceiver[Secret] | None


@dataclass(frozen=True, kw_only=True)
class GrafanaAccess:
    """How Grafana is reached: port-forward, or a TLS Network Load Balancer."""

    load_balancer: bool
    host: str
    """DNS name clients use (with the load balancer)."""
    certificate_arn: str
    """ACM certificate the load balancer terminates TLS with."""
    internet_facing: bool
    """On the internet instead of inside the VPC."""


def read_yaml(path: Path) -> dict[str, Any]:
    document: Any = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return cast(dict[str, Any], document)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`, recursing into mappings; lists and scalars are replaced."""
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(
                cast(Mapping[str, Any], current), cast(Mapping[str, Any], value)
            )
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def chart_values(chart: str, per_stack: Mapping[str, Any]) -> dict[str, Any]:
    """The chart's shared values file with the stack's values merged over it."""
    return deep_merge(read_yaml(VALUES_DIR / f"{chart}.yaml"), per_stack)


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.rules.yaml"))


def rule_groups(path: Path, drift_minutes: int, runbook_prefix: str) -> list[dict[str, Any]]:
    """A rule file's groups, with the stack's drift duration and runbook location applied."""
    groups: list[dict[str, Any]] = read_yaml(path)["groups"]
    for group in groups:
        for rule in group["rules"]:
            if rule.get("alert") == DRIFT_ALERT:
                rule["for"] = f"{drift_minutes}m"
            annotations: dict[str, str] = rule.get("annotations", {})
            if "runbook_url" in annotations:
                annotations["runbook_url"] = annotations["runbook_url"].replace(
                    RUNBOOK_PREFIX, runbook_prefix
                )
    return groups


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def dashboard_json(path: Path, log_group: LogGroupRef | None = None) -> str:
    """The dashboard re-serialised compactly, failing early on a file that is not JSON.

    With `log_group`, every CloudWatch Logs query names it: Grafana drops a logs query that
    names no log group (the data source's default is not applied to saved panels).
    """
    board = json.loads(path.read_text())
    if log_group is not None:
        for panel in board.get("panels", []):
            for target in panel.get("targets", []):
                if target.get("queryMode") == "Logs":
                    target["logGroups"] = [log_group_entry(log_group)]
    return json.dumps(board, separators=(",", ":"), sort_keys=True)


def has_log_panels(path: Path) -> bool:
    return any(panel.get("type") == "logs" for panel in json.loads(path.read_text())["panels"])


@dataclass(frozen=True)
class LogGroupRef:
    name: str
    arn: str
    """As the provider reports it: without the API's `:*` suffix."""


def log_group_entry(group: LogGroupRef) -> dict[str, str]:
    """How Grafana's CloudWatch data source names a log group: the ARN as DescribeLogGroups
    returns it (with `:*`), and its name."""
    return {"arn": f"{group.arn}:*", "name": group.name}


def _slack_config(slack: SlackReceiver[str]) -> dict[str, Any]:
    return {
        "api_url": slack.api_url,
        "channel": slack.channel,
        "send_resolved": True,
        "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
        "text": (
            "{{ range .Alerts }}{{ .Annotations.description }}\n"
            "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
        ),
    }


def _email_config(email: EmailReceiver[str]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "to": email.to,
        "from": email.sender,
        "smarthost": email.smarthost,
        "require_tls": True,
        "send_resolved": True,
    }
    if email.login is not None:
        config["auth_username"], config["auth_password"] = email.login
    return config


def _team_receiver(receivers: AlertReceivers[str]) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": "team"}
    if receivers.webhook_url is not None:
        receiver["webhook_configs"] = [{"url": receivers.webhook_url, "send_resolved": True}]
    if receivers.slack is not None:
        receiver["slack_configs"] = [_slack_config(receivers.slack)]
    if receivers.email is not None:
        receiver["email_configs"] = [_email_config(receivers.email)]
    return receiver


def alertmanager_config(
    receivers: AlertReceivers[str], retrain_url: str, retrain_token: str
) -> dict[str, Any]:
    """The full alertmanager.yaml: shared routing plus this stack's receivers.

    With no receiver configured, `team` is an empty receiver: alerts still show in the
    Alertmanager and Grafana UIs, and drift still triggers retraining.
    """
    config = read_yaml(MONITORING_DIR / "alertmanager.yaml")
    config["receivers"] = [
        _team_receiver(receivers),
        {
            "name": "retrain",
            "webhook_configs": [
                {
                    "url": retrain_url,
                    # Retraining starts on the firing notice; a resolved one means nothing.
                    "send_resolved": False,
                    "http_config": {
                        "authorization": {"type": "Bearer", "credentials": retrain_token}
                    },
                }
            ],
        },
        {"name": "null"},
    ]
    return config


LOGS_DATASOURCE_UID = "cloudwatch"
"""uid of Grafana's CloudWatch data source; the dashboards' log panels name it."""


def grafana_logs_values(region: str, log_group: LogGroupRef, role_arn: str) -> dict[str, Any]:
    """Grafana's service account with the log-reader role, and the CloudWatch data source."""
    return {
        "serviceAccount": {
            "create": True,
            "name": GRAFANA_SERVICE_ACCOUNT,
            "annotations": {ROLE_ARN_ANNOTATION: role_arn},
        },
        "additionalDataSources": [
            {
                "name": "CloudWatch Logs",
                "uid": LOGS_DATASOURCE_UID,
                "type": "cloudwatch",
                "access": "proxy",
                # `default`: the SDK's chain, i.e. the IRSA web identity token of the pod.
                "jsonData": {
                    "authType": "default",
                    "defaultRegion": region,
                    "logGroups": [log_group_entry(log_group)],
                },
            }
        ],
    }


def grafana_load_balancer_values(grafana: GrafanaAccess, vpc_cidr: str) -> dict[str, Any]:
    """A TLS-only Network Load Balancer in front of Grafana's own login (anonymous access off).

    Provisioned by the service controller EKS runs in its control plane, as the model server's
    load balancer is: an Ingress would need the AWS Load Balancer Controller, which the
    platform does not install, and would never be served.
    """
    return {
        "service": {
            "type": "LoadBalancer",
            "port": 443,
            "targetPort": 3000,
            "portName": "https",
            # Without source ranges the controller opens the node port to 0.0.0.0/0 in the
            # nodes' security group; internal means the VPC only.
            "loadBalancerSourceRanges": [] if grafana.internet_facing else [vpc_cidr],
            "annotations": {
                f"{LB_ANNOTATION}-type": "nlb",
                f"{LB_ANNOTATION}-internal": "false" if grafana.internet_facing else "true",
                f"{LB_ANNOTATION}-ssl-cert": grafana.certificate_arn,
                f"{LB_ANNOTATION}-ssl-ports": "https",
            },
        },
        "grafana.ini": {"server": {"root_url": f"https://{grafana.host}"}},
    }
