"""Where alerts go: the team's receivers (with the secrets they send with) and Alertmanager's
config, whose shared routing lives in infra/assets/alertmanager.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pulumi

from infra.components.assets import ALERTMANAGER_FILE
from infra.components.monitoring_files import read_yaml
from infra.contracts import MODEL_METRIC_LABEL

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


RETRAIN_RECEIVER = "retrain"
"""The route in alertmanager.yaml that becomes one route per model (`retrain-<model>`)."""


def alertmanager_config(
    receivers: AlertReceivers[str], retrain_urls: Mapping[str, str], retrain_token: str
) -> dict[str, Any]:
    """The full alertmanager.yaml: shared routing plus this stack's receivers.

    The shared `retrain` route becomes one route per model, matching the alert's `model`
    label, to that model's trigger: a model's drift retrains that model only. With no
    receiver configured, `team` is an empty receiver: alerts still show in the Alertmanager
    and Grafana UIs, and drift still triggers retraining.
    """
    config = read_yaml(ALERTMANAGER_FILE)
    routes: list[dict[str, Any]] = []
    for route in config["route"]["routes"]:
        if route["receiver"] != RETRAIN_RECEIVER:
            routes.append(route)
            continue
        routes += [
            {
                **route,
                "receiver": f"{RETRAIN_RECEIVER}-{model}",
                "matchers": [*route["matchers"], f'{MODEL_METRIC_LABEL}="{model}"'],
            }
            for model in retrain_urls
        ]
    config["route"]["routes"] = routes
    config["receivers"] = [
        _team_receiver(receivers),
        *(
            _retrain_receiver(f"{RETRAIN_RECEIVER}-{model}", url, retrain_token)
            for model, url in retrain_urls.items()
        ),
        {"name": "null"},
    ]
    return config


def _retrain_receiver(name: str, url: str, token: str) -> dict[str, Any]:
    return {
        "name": name,
        "webhook_configs": [
            {
                "url": url,
                # Retraining starts on the firing notice; a resolved one means nothing.
                "send_resolved": False,
                "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
            }
        ],
    }


def resolved(receivers: AlertReceivers[pulumi.Input[str]]) -> pulumi.Output[AlertReceivers[str]]:
    """The receivers once every secret they send with is known."""
    slack, email = receivers.slack, receivers.email
    login = email.login if email is not None else None
    return pulumi.Output.all(
        receivers.webhook_url,
        slack.api_url if slack is not None else None,
        login[1] if login is not None else None,
    ).apply(
        lambda secrets: AlertReceivers(
            webhook_url=secrets[0],
            slack=None
            if slack is None
            else SlackReceiver(channel=slack.channel, api_url=secrets[1]),
            email=None
            if email is None
            else EmailReceiver(
                to=email.to,
                sender=email.sender,
                smarthost=email.smarthost,
                login=None if login is None else (login[0], secrets[2]),
            ),
        )
    )
