"""The stack's secret config values: which exist, and the typed object the program reads them as.

Each arrives only as a Pulumi secret (`pulumi config set --secret`) and stays a secret Output,
so it never appears in plain text in the state or the synthesized graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class SecretSpec:
    key: str
    """Config key under `mlops-platform:`."""
    purpose: str
    needs_cluster: bool
    """Required whenever the cluster is enabled; otherwise only when a setting asks for it."""


API_KEYS = SecretSpec("apiKeys", "comma-separated API keys the model server accepts", True)
GRAFANA_ADMIN_PASSWORD = SecretSpec("grafanaAdminPassword", "Grafana's admin password", True)
RETRAIN_WEBHOOK_TOKEN = SecretSpec(
    "retrainWebhookToken", "shared secret of the drift-to-retrain webhook", True
)
# Optional: only needed when monitoring.receivers turns the matching receiver on.
ALERT_WEBHOOK_URL = SecretSpec("alertWebhookUrl", "URL Alertmanager posts every alert to", False)
ALERT_SLACK_WEBHOOK_URL = SecretSpec(
    "alertSlackWebhookUrl", "Slack incoming-webhook URL for alerts", False
)
ALERT_SMTP_PASSWORD = SecretSpec("alertSmtpPassword", "SMTP password for alert mail", False)
# Optional: only needed when monitoring.grafana.sso is set.
GRAFANA_SSO_CLIENT_SECRET = SecretSpec(
    "grafanaSsoClientSecret", "OAuth client secret of Grafana's single sign-on", False
)

SECRETS = (
    API_KEYS,
    GRAFANA_ADMIN_PASSWORD,
    RETRAIN_WEBHOOK_TOKEN,
    ALERT_WEBHOOK_URL,
    ALERT_SLACK_WEBHOOK_URL,
    ALERT_SMTP_PASSWORD,
    GRAFANA_SSO_CLIENT_SECRET,
)


@dataclass(frozen=True, kw_only=True)
class ClusterSecrets:
    """What the workloads and monitoring on the cluster need."""

    api_keys: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]
    retrain_webhook_token: pulumi.Output[str]
    grafana_sso_client_secret: pulumi.Output[str] | None
    """Set exactly when the stack file sets it; the loader demands it with grafana.sso."""


@dataclass(frozen=True, kw_only=True)
class AlertSecrets:
    """Each is set exactly when the stack file sets it; the loader demands the ones that
    `monitoring.receivers` needs."""

    webhook_url: pulumi.Output[str] | None
    slack_webhook_url: pulumi.Output[str] | None
    smtp_password: pulumi.Output[str] | None


@dataclass(frozen=True, kw_only=True)
class StackSecrets:
    cluster: ClusterSecrets | None
    """Present exactly when `cluster.enabled` is true."""
    alerts: AlertSecrets
