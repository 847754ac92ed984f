"""Experiment tracking config: `mlops-platform:tracking` (MLflow server and its PostgreSQL)."""

from __future__ import annotations

import re

from pydantic import Field, ValidationInfo, field_validator

from infra.config.base import ConfigModel, environment_of
from infra.config.workloads import ResourcesConfig, check_image_reference

_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
# A major version ("17"), or a major.minor one ("17.6"); with automatic minor upgrades RDS
# moves a major-only pin to each new minor in the maintenance window, without drift.
_ENGINE_VERSION = re.compile(r"^\d{2}(\.\d{1,2})?$")
CLUSTER_IP = "clusterIp"


class DatabaseConfig(ConfigModel):
    instance_class: str = "db.t4g.medium"
    """RDS instance class of the PostgreSQL backend store. Default db.t4g.medium."""
    storage_gib: int = Field(default=20, ge=20, le=65536)
    """Encrypted gp3 storage in GiB (20 is gp3's minimum). Default 20."""
    engine_version: str = "17"
    """PostgreSQL version: a major ("17") that RDS keeps on its latest minor in the
    maintenance window, or an exact "17.6". Default 17."""
    multi_az: bool = True
    """A synchronous standby in a second zone that RDS fails over to. Default on; prod must."""
    deletion_protection: bool = True
    """RDS refuses to delete the instance, and Pulumi protects it and keeps it on `pulumi
    destroy`. Default on; prod must."""
    backup_retention_days: int = Field(default=14, ge=1, le=35)
    """Days of automated backups (point-in-time recovery). Default 14; prod >= 7."""
    skip_final_snapshot: bool = False
    """Delete the instance without a last snapshot. Default off; prod must keep it off."""

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not _INSTANCE_CLASS.match(value):
            raise ValueError('is not an RDS instance class; use e.g. "db.t4g.micro"')
        return value

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, value: str) -> str:
        if not _ENGINE_VERSION.match(value):
            raise ValueError(
                'is not a PostgreSQL version; quote a major such as "17" (minor upgrades '
                'follow automatically) or an exact "17.6"'
            )
        return value

    @field_validator("multi_az", "deletion_protection")
    @classmethod
    def _prod_keeps_it(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "prod" and not value:
            raise ValueError("must be true in prod (the registry's database); remove the key")
        return value

    @field_validator("backup_retention_days")
    @classmethod
    def _prod_backs_up_a_week(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "prod" and value < 7:
            raise ValueError("must be >= 7 in prod (point-in-time recovery); set 7 or more")
        return value

    @field_validator("skip_final_snapshot")
    @classmethod
    def _prod_takes_a_final_snapshot(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "prod" and value:
            raise ValueError("must be false in prod (a destroy would lose every run); remove it")
        return value


class TrackingConfig(ConfigModel):
    enabled: bool = True
    """Run the MLflow tracking server and registry (needs the cluster). Default on."""
    image_tag: str | None = None
    """Tag or digest of the tracking server image; default `<app.imageTag>-tracking`."""
    replicas: int = Field(default=2, ge=1, le=10)
    """Tracking server pods; above 1 they spread over zones behind a PodDisruptionBudget.
    Default 2; prod >= 2."""
    workers: int = Field(default=2, ge=1, le=16)
    """Server processes in each pod (each holds its own database connections). Default 2."""
    resources: ResourcesConfig = ResourcesConfig(
        cpu_request="100m", memory_request="512Mi", cpu_limit="1", memory_limit="1Gi"
    )
    """CPU and memory of each tracking server pod."""
    exposure: str = CLUSTER_IP
    """clusterIp only: the UI and API are reached with `kubectl port-forward` or from the
    training namespace. MLflow has no login of its own here, so no load balancer is offered."""
    database: DatabaseConfig = DatabaseConfig()
    """The RDS PostgreSQL instance that holds runs and registered models."""

    @field_validator("image_tag")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        return value if value is None else check_image_reference(value)

    @field_validator("replicas")
    @classmethod
    def _prod_runs_two(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "prod" and value < 2:
            raise ValueError("must be >= 2 in prod (a node drain would stop tracking); set 2")
        return value

    @field_validator("exposure")
    @classmethod
    def _cluster_ip_only(cls, value: str) -> str:
        if value != CLUSTER_IP:
            raise ValueError(
                "is not supported: the tracking server has no authentication in front of it, "
                "so it is never put behind a load balancer; remove the key and open the UI "
                "with `kubectl port-forward` (docs/operations.md, Open the tracking UI)"
            )
        return value
