"""Alertmanager config: drift reaches the retrain webhook with its token; receivers need secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.components import alerting
from tests.infra.program import declare
from tests.infra.stackfiles import stack_root_with

NOWHERE = alerting.AlertReceivers[str](webhook_url=None, slack=None, email=None)
RECEIVERS = "mlops-platform:monitoring.receivers"
SLACK_URL = "mlops-platform:alertSlackWebhookUrl"


def test_drift_alerts_go_to_the_retrain_webhook_with_a_bearer_token() -> None:
    urls = {"iris-classifier": "http://hook/v1/alerts"}
    config = alerting.alertmanager_config(NOWHERE, urls, "tok-123")
    name = "retrain-iris-classifier"
    route = next(r for r in config["route"]["routes"] if r["receiver"] == name)
    assert route["matchers"] == ['action="retrain"', 'model="iris-classifier"']
    assert route["continue"] is True
    hook = next(r for r in config["receivers"] if r["name"] == name)["webhook_configs"][0]
    assert hook["url"] == "http://hook/v1/alerts"
    assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": "tok-123"}


def test_slack_receiver_uses_the_secret_url() -> None:
    receivers = alerting.AlertReceivers(
        webhook_url=None,
        slack=alerting.SlackReceiver(channel="#ml-alerts", api_url="https://hooks/x"),
        email=None,
    )
    config = alerting.alertmanager_config(receivers, {"iris-classifier": "u"}, "t")
    team = next(r for r in config["receivers"] if r["name"] == "team")
    assert team["slack_configs"][0]["api_url"] == "https://hooks/x"


SECRETS = {
    "mlops-platform:alertWebhookUrl": "https://hooks.example.com/all-alerts",
    SLACK_URL: "https://hooks.slack.com/services/T0/B0/slack-secret",
    "mlops-platform:alertSmtpPassword": "smtp-secret-password",
}


def _team_receiver(tmp_path: Path, receivers: dict[str, Any]) -> dict[str, Any]:
    root = stack_root_with(tmp_path, "prod", {RECEIVERS: receivers})
    run = declare("prod", root, secrets=SECRETS)
    assert run.error is None, run.error
    secret = run.one("kubernetes:core/v1:Secret", "mlops-prod-alertmanager-config")
    routing = yaml.safe_load(secret.inputs["stringData"]["alertmanager.yaml"])
    (team,) = [r for r in routing["receivers"] if r["name"] == "team"]
    return team


def test_each_receiver_of_the_stack_file_sends_with_its_own_secret(tmp_path: Path) -> None:
    team = _team_receiver(
        tmp_path,
        {
            "webhook": True,
            "slack": {"channel": "#ml-alerts"},
            "email": {
                "to": "ml-oncall@example.com",
                "sender": "alerts@example.com",
                "smarthost": "smtp.example.com:587",
                "username": "alerts",
            },
        },
    )
    (slack,) = team["slack_configs"]
    assert (slack["channel"], slack["api_url"]) == ("#ml-alerts", SECRETS[SLACK_URL])
    (webhook,) = team["webhook_configs"]
    assert webhook["url"] == SECRETS["mlops-platform:alertWebhookUrl"]
    (email,) = team["email_configs"]
    assert (email["to"], email["smarthost"], email["auth_username"]) == (
        "ml-oncall@example.com",
        "smtp.example.com:587",
        "alerts",
    )
    assert email["auth_password"] == SECRETS["mlops-platform:alertSmtpPassword"]


def test_mail_without_a_username_sends_no_login(tmp_path: Path) -> None:
    email = {"to": "a@example.com", "sender": "b@example.com", "smarthost": "smtp.example.com:25"}
    team = _team_receiver(tmp_path, {"email": email})
    assert "auth_username" not in team["email_configs"][0]
    assert "auth_password" not in team["email_configs"][0]
    assert set(team) == {"name", "email_configs"}, "receivers the stack file did not turn on"


def test_a_receiver_without_its_secret_is_rejected_with_the_fix_before_anything_is_declared(
    tmp_path: Path,
) -> None:
    root = stack_root_with(tmp_path, "prod", {RECEIVERS: {"slack": {"channel": "#ml"}}})
    run = declare("prod", root, without=(SLACK_URL,))
    assert run.error is not None, "a Slack receiver without its webhook URL was accepted"
    assert run.error.problems == [
        "Pulumi.prod.yaml: mlops-platform:alertSlackWebhookUrl is required by "
        "monitoring.receivers; run `pulumi config set --secret "
        "mlops-platform:alertSlackWebhookUrl <value>` or turn that receiver off"
    ]
    assert run.declared == [], f"declared before the error: {[d.name for d in run.declared]}"
