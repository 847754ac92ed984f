"""Grafana single sign-on (generic OAuth): off by default; when a stack turns it on, the
provider's settings reach grafana.ini and the client secret reaches Grafana only through a
Secret, never the Helm values or the graph in clear."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config.monitoring import GrafanaConfig
from tests.infra.program import declare
from tests.infra.stackfiles import stack_root_with

GRAFANA = "mlops-platform:monitoring.grafana"
CLIENT_SECRET_KEY = "mlops-platform:grafanaSsoClientSecret"
CLIENT_SECRET = "sso-client-secret-value"
PUBLISHED = {
    "loadBalancer": True,
    "host": "grafana.ml.example.com",
    "certificateArn": "arn:aws:acm:us-east-1:444455556666:certificate/abc",
}
SSO = {
    "name": "Company SSO",
    "clientId": "grafana-client",
    "authUrl": "https://login.example.com/oauth2/authorize",
    "tokenUrl": "https://login.example.com/oauth2/token",
    "apiUrl": "https://login.example.com/oauth2/userInfo",
    "allowedDomains": ["example.com"],
    "roleAttributePath": "contains(groups[*], 'ml-admins') && 'Admin' || 'Viewer'",
}


def _stack_values(run: Any) -> dict[str, Any]:
    release = run.one("kubernetes:helm.sh/v3:Release", "mlops-prod-stack")
    return release.inputs["values"]["grafana"]


def test_grafana_keeps_its_own_login_by_default(tmp_path: Path) -> None:
    run = declare("prod", stack_root_with(tmp_path, "prod", {}))
    assert run.error is None, run.error
    grafana = _stack_values(run)
    assert "auth.generic_oauth" not in grafana.get("grafana.ini", {})
    assert "envFromSecret" not in grafana


def test_sso_configures_grafana_and_keeps_the_client_secret_out_of_the_values(
    tmp_path: Path,
) -> None:
    root = stack_root_with(tmp_path, "prod", {GRAFANA: {**PUBLISHED, "sso": SSO}})
    run = declare("prod", root, secrets={CLIENT_SECRET_KEY: CLIENT_SECRET})
    assert run.error is None, run.error
    grafana = _stack_values(run)
    oauth = grafana["grafana.ini"]["auth.generic_oauth"]
    assert oauth["enabled"] is True and oauth["client_id"] == "grafana-client"
    assert oauth["auth_url"] == SSO["authUrl"] and oauth["api_url"] == SSO["apiUrl"]
    assert oauth["allowed_domains"] == "example.com"
    assert oauth["role_attribute_path"] == SSO["roleAttributePath"]
    # The provider redirects back to the published host.
    assert grafana["grafana.ini"]["server"]["root_url"] == "https://grafana.ml.example.com"
    assert CLIENT_SECRET not in json.dumps(grafana)
    secret = run.one("kubernetes:core/v1:Secret", "mlops-prod-grafana-sso")
    assert grafana["envFromSecret"] == secret.inputs["metadata"]["name"]
    assert secret.inputs["stringData"] == {"GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET": CLIENT_SECRET}


def test_sso_without_its_client_secret_declares_nothing(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "prod", {GRAFANA: {**PUBLISHED, "sso": SSO}})
    run = declare("prod", root, without=(CLIENT_SECRET_KEY,))
    assert run.error is not None, "single sign-on without its client secret was accepted"
    assert run.error.problems == [
        f"Pulumi.prod.yaml: {CLIENT_SECRET_KEY} is required by monitoring.grafana.sso; run "
        f"`pulumi config set --secret {CLIENT_SECRET_KEY} <client secret>` or remove "
        "grafana.sso"
    ]
    assert run.declared == []


@pytest.mark.parametrize(
    ("grafana", "rule"),
    [
        ({"sso": SSO}, "needs grafana.loadBalancer=true"),
        ({**PUBLISHED, "sso": {**SSO, "tokenUrl": "http://login.example.com/token"}}, "https://"),
    ],
)
def test_bad_sso_settings_name_the_rule(grafana: dict[str, Any], rule: str) -> None:
    with pytest.raises(ValueError) as raised:
        GrafanaConfig.model_validate(grafana)
    assert rule in str(raised.value)
