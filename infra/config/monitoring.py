"""Monitoring config: `mlops-platform:monitoring`."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import ConfigModel


class MonitoringConfig(ConfigModel):
    enabled: bool = True
    """Install Prometheus, Alertmanager and Grafana. Default on (needs the cluster)."""
    retention_days: int = Field(default=15, ge=1)
    """Days Prometheus keeps samples. Default 15."""
