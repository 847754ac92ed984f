"""Bad `mlops-platform:monitoring` values fail with the key, the rule and the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.config.monitoring import GrafanaConfig, MonitoringConfig


def test_prod_rejects_a_single_prometheus() -> None:
    with pytest.raises(ValidationError, match="at least 2 in prod"):
        MonitoringConfig.model_validate({"prometheusReplicas": 1}, context={"environment": "prod"})


def test_dev_accepts_a_single_prometheus() -> None:
    config = MonitoringConfig.model_validate(
        {"prometheusReplicas": 1}, context={"environment": "dev"}
    )
    assert config.prometheus_replicas == 1


def test_storage_size_must_be_a_volume_quantity() -> None:
    with pytest.raises(ValidationError, match="use a whole number of Gi or Ti"):
        MonitoringConfig.model_validate({"storageSize": "50GB"})


def test_grafana_load_balancer_needs_host_and_certificate() -> None:
    with pytest.raises(ValidationError, match=r"needs grafana\.host and grafana\.certificateArn"):
        GrafanaConfig.model_validate({"loadBalancer": True})


def test_misspelled_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="retentionDay"):
        MonitoringConfig.model_validate({"retentionDay": 3})
