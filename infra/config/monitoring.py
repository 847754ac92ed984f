"""Monitoring config: `mlops-platform:monitoring`.

Receivers name where alerts go; their URLs and passwords never appear here but in Pulumi
secrets (`alertWebhookUrl`, `alertSlackWebhookUrl`, `alertSmtpPassword`).
"""

from __future__ import annotations

import re

from pydantic import Field, ValidationInfo, field_validator, model_validator

from infra.config.base import ConfigModel, environment_of
from infra.config.secrets import (
    ALERT_SLACK_WEBHOOK_URL,
    ALERT_SMTP_PASSWORD,
    ALERT_WEBHOOK_URL,
    SecretSpec,
)

_QUANTITY = re.compile(r"^[1-9]\d*(Gi|Ti)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")


class SlackReceiverConfig(ConfigModel):
    channel: str = Field(pattern=r"^[#@][\w.-]+$")
    """Channel (or @user) to post to, e.g. "#ml-alerts". URL: secret alertSlackWebhookUrl."""


class EmailReceiverConfig(ConfigModel):
    to: str
    """Address that receives alert mail."""
    sender: str
    """From address of alert mail."""
    smarthost: str
    """SMTP server as host:port, e.g. "email-smtp.us-east-1.amazonaws.com:587"."""
    username: str = ""
    """SMTP login; password in secret alertSmtpPassword. Default none (no SMTP auth)."""

    @field_validator("to", "sender")
    @classmethod
    def _is_address(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("is not an e-mail address; use e.g. ml-oncall@example.com")
        return value

    @field_validator("smarthost")
    @classmethod
    def _is_host_port(cls, value: str) -> str:
        if not _HOST_PORT.match(value):
            raise ValueError("is not host:port; use e.g. smtp.example.com:587")
        return value


class ReceiversConfig(ConfigModel):
    webhook: bool = False
    """Post every alert to the URL in secret alertWebhookUrl. Default off."""
    slack: SlackReceiverConfig | None = None
    """Post alerts to Slack. Default off."""
    email: EmailReceiverConfig | None = None
    """Mail alerts. Default off."""

    @property
    def required_secrets(self) -> list[SecretSpec]:
        """The secrets the enabled receivers send with."""
        needed: list[SecretSpec] = []
        if self.webhook:
            needed.append(ALERT_WEBHOOK_URL)
        if self.slack is not None:
            needed.append(ALERT_SLACK_WEBHOOK_URL)
        if self.email is not None and self.email.username:
            needed.append(ALERT_SMTP_PASSWORD)
        return needed


class GrafanaSsoConfig(ConfigModel):
    """Single sign-on through any OpenID Connect / OAuth2 provider (Cognito, Okta, Entra ID,
    Google, ...); the client secret is the Pulumi secret grafanaSsoClientSecret."""

    name: str = Field(default="SSO", min_length=1, max_length=64)
    """Label of the login button. Default SSO."""
    client_id: str = Field(min_length=1)
    """OAuth client id registered with the provider (redirect URI https://<host>/login/generic_oauth)."""
    auth_url: str
    """The provider's authorization endpoint (https)."""
    token_url: str
    """The provider's token endpoint (https)."""
    api_url: str
    """The provider's userinfo endpoint (https)."""
    scopes: str = "openid profile email"
    """Space-separated scopes. Default openid profile email."""
    allowed_domains: list[str] = Field(default_factory=list)
    """E-mail domains allowed to sign in, e.g. ["example.com"]. Default any the provider lets in."""
    role_attribute_path: str = ""
    """JMESPath over the user info that yields Admin, Editor or Viewer. Default: Viewer for all."""

    @field_validator("auth_url", "token_url", "api_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL of the identity provider")
        return value


class GrafanaConfig(ConfigModel):
    load_balancer: bool = False
    """Publish Grafana through an internal TLS Network Load Balancer. Default off: port-forward."""
    host: str = ""
    """DNS name clients use, e.g. "grafana.ml.example.com". Required with loadBalancer."""
    certificate_arn: str = ""
    """ACM certificate ARN the load balancer terminates TLS with. Required with loadBalancer."""
    internet_facing: bool = False
    """Put the load balancer on the internet instead of inside the VPC. Default off."""
    sso: GrafanaSsoConfig | None = None
    """Sign in through an identity provider (generic OAuth); needs loadBalancer. Default off:
    Grafana's own login."""

    @field_validator("host")
    @classmethod
    def _is_hostname(cls, value: str) -> str:
        if value and not _HOSTNAME.match(value):
            raise ValueError("is not a DNS name; use e.g. grafana.ml.example.com")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _is_acm_arn(cls, value: str) -> str:
        if value and not re.match(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/.+$", value):
            raise ValueError("is not an ACM certificate ARN; use arn:aws:acm:<region>:<acct>:...")
        return value

    @model_validator(mode="after")
    def _load_balancer_needs_tls(self) -> GrafanaConfig:
        if self.load_balancer and not (self.host and self.certificate_arn):
            raise ValueError(
                "grafana.loadBalancer=true needs grafana.host and grafana.certificateArn (TLS "
                "only); set both or keep it off and use `kubectl port-forward`"
            )
        if self.sso is not None and not self.load_balancer:
            raise ValueError(
                "grafana.sso needs grafana.loadBalancer=true: the identity provider redirects "
                "to https://<grafana.host>/login/generic_oauth; turn the load balancer on"
            )
        return self


class MonitoringConfig(ConfigModel):
    enabled: bool = True
    """Install Prometheus, Alertmanager and Grafana. Default on (needs the cluster)."""
    retention_days: int = Field(default=15, ge=1)
    """Days Prometheus keeps samples. Default 15."""
    storage_size: str = "50Gi"
    """Prometheus volume size (Gi or Ti). Default 50Gi."""
    storage_class: str = ""
    """StorageClass of the Prometheus and Alertmanager volumes. Default the platform's gp3."""
    prometheus_replicas: int = Field(default=2, ge=1, le=5)
    """Prometheus pods (each scrapes everything). Default 2; prod needs at least 2."""
    alertmanager_replicas: int = Field(default=2, ge=1, le=5)
    """Alertmanager pods (clustered, deduplicating). Default 2; prod needs at least 2."""
    drift_minutes: int = Field(default=15, ge=1, le=1440)
    """Minutes drift must stay above threshold before retraining is triggered. Default 15."""
    receivers: ReceiversConfig = ReceiversConfig()
    """Where alerts go besides the retraining webhook. Default nowhere (UI only)."""
    grafana: GrafanaConfig = GrafanaConfig()
    """How Grafana is reached. Default port-forward only."""

    @field_validator("storage_size")
    @classmethod
    def _is_quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
            raise ValueError("is not a volume size; use a whole number of Gi or Ti, e.g. 50Gi")
        return value

    @field_validator("prometheus_replicas", "alertmanager_replicas")
    @classmethod
    def _prod_is_redundant(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "prod" and value < 2:
            raise ValueError("must be at least 2 in prod, so one pod can fail without a blind spot")
        return value
