"""The monitoring data files (infra/assets/) and the pure functions that shape them.

Nothing here declares a resource: alert rules, dashboards and the per-stack chart values are
read and shaped here, and declared by `infra.components.monitoring`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from infra.components.assets import DASHBOARDS_DIR, RULES_DIR
from infra.components.helm import deep_merge
from infra.components.scheduling import ROLE_ARN_ANNOTATION
from infra.components.workloads.exposure import LB_ANNOTATION
from infra.contracts import GRAFANA_SERVICE_ACCOUNT

RUNBOOK_PREFIX = "https://github.com/mlops-platform/mlops-platform/blob/main/docs/monitoring.md"
"""Base of every rule's runbook_url as written in the rule files."""

DRIFT_ALERT = "ModelDataDrift"
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105 - a Secret's name, not its value
ALERTMANAGER_CONFIG_SECRET = "alertmanager-config"  # noqa: S105 - a Secret's name


GRAFANA_SSO_SECRET = "grafana-sso"  # noqa: S105 - a Secret's name, not its value


@dataclass(frozen=True, kw_only=True)
class GrafanaSso:
    """Generic OAuth login; the client secret reaches Grafana from the `grafana-sso` Secret."""

    name: str
    client_id: str
    auth_url: str
    token_url: str
    api_url: str
    scopes: str
    allowed_domains: list[str]
    role_attribute_path: str


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
    sso: GrafanaSso | None
    """Single sign-on through an identity provider, or Grafana's own login."""


@dataclass(frozen=True, kw_only=True)
class PrometheusSizing:
    """How much Prometheus and Alertmanager keep, on how many pods."""

    retention_days: int
    """Days Prometheus keeps samples."""
    storage_size: str
    """Prometheus volume size."""
    storage_class: str
    """StorageClass of the Prometheus and Alertmanager volumes."""
    prometheus_replicas: int
    alertmanager_replicas: int


def read_yaml(path: Path) -> dict[str, Any]:
    document: Any = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return cast(dict[str, Any], document)


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


def stack_values(sizing: PrometheusSizing, grafana: GrafanaAccess, vpc_cidr: str) -> dict[str, Any]:
    """Only what differs per stack; everything shared is in values/kube-prometheus-stack.yaml."""

    def volume(size: str) -> dict[str, Any]:
        return {
            "volumeClaimTemplate": {
                "spec": {
                    "storageClassName": sizing.storage_class,
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": size}},
                }
            }
        }

    values: dict[str, Any] = {
        "prometheus": {
            "prometheusSpec": {
                "retention": f"{sizing.retention_days}d",
                "replicas": sizing.prometheus_replicas,
                "storageSpec": volume(sizing.storage_size),
            }
        },
        "alertmanager": {
            "alertmanagerSpec": {
                "replicas": sizing.alertmanager_replicas,
                "configSecret": ALERTMANAGER_CONFIG_SECRET,
                "storage": volume("2Gi"),
            }
        },
        "grafana": {"admin": {"existingSecret": GRAFANA_ADMIN_SECRET}},
    }
    if grafana.load_balancer:
        values["grafana"].update(grafana_load_balancer_values(grafana, vpc_cidr))
    if grafana.sso is not None:
        values["grafana"] = deep_merge(values["grafana"], grafana_sso_values(grafana.sso))
    return values


def grafana_sso_values(sso: GrafanaSso) -> dict[str, Any]:
    """Grafana's generic OAuth login. The client secret is never a value here: Grafana reads
    GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET from the `grafana-sso` Secret's environment."""
    oauth: dict[str, Any] = {
        "enabled": True,
        "name": sso.name,
        "client_id": sso.client_id,
        "scopes": sso.scopes,
        "auth_url": sso.auth_url,
        "token_url": sso.token_url,
        "api_url": sso.api_url,
        "use_pkce": True,
        "allow_sign_up": True,
    }
    if sso.allowed_domains:
        oauth["allowed_domains"] = " ".join(sso.allowed_domains)
    if sso.role_attribute_path:
        oauth["role_attribute_path"] = sso.role_attribute_path
    return {"envFromSecret": GRAFANA_SSO_SECRET, "grafana.ini": {"auth.generic_oauth": oauth}}


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
