"""Alertmanager config: drift reaches the retrain webhook with its token; receivers need secrets."""

from __future__ import annotations

import pytest

from infra.components import monitoring_files as files
from infra.config.errors import ConfigError
from infra.config.monitoring import ReceiversConfig, SlackReceiverConfig


def test_drift_alerts_go_to_the_retrain_webhook_with_a_bearer_token() -> None:
    config = files.alertmanager_config(ReceiversConfig(), {}, "http://hook/v1/alerts", "tok-123")
    route = next(r for r in config["route"]["routes"] if r["receiver"] == "retrain")
    assert route["matchers"] == ['action="retrain"'] and route["continue"] is True
    hook = next(r for r in config["receivers"] if r["name"] == "retrain")["webhook_configs"][0]
    assert hook["url"] == "http://hook/v1/alerts"
    assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": "tok-123"}


def test_slack_receiver_uses_the_secret_url() -> None:
    receivers = ReceiversConfig(slack=SlackReceiverConfig(channel="#ml-alerts"))
    config = files.alertmanager_config(
        receivers, {files.SLACK_URL_KEY: "https://hooks/x"}, "u", "t"
    )
    team = next(r for r in config["receivers"] if r["name"] == "team")
    assert team["slack_configs"][0]["api_url"] == "https://hooks/x"


def test_a_receiver_without_its_secret_is_rejected_with_the_fix() -> None:
    from infra.components.monitoring import MonitoringArgs

    with pytest.raises(ConfigError) as error:
        MonitoringArgs(
            k8s_provider=None,  # type: ignore[arg-type]
            namespace="monitoring",
            serving_namespace="serving",
            training_namespace="training",
            retrain_webhook_url="u",
            retrain_webhook_token="t",
            vpc_cidr="10.0.0.0/16",
            grafana_admin_password="p",
            receivers=ReceiversConfig(slack=SlackReceiverConfig(channel="#ml")),
        )
    assert "alertSlackWebhookUrl" in str(error.value)
    assert "pulumi config set --secret" in str(error.value)
