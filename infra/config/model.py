"""The whole typed stack config, one field per `mlops-platform:<section>` key."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from infra.config.aws import AwsProviderConfig
from infra.config.base import ConfigModel, Environment
from infra.config.capacity import CapacityConfig
from infra.config.cluster import ClusterConfig
from infra.config.logs import LogsConfig
from infra.config.monitoring import MonitoringConfig
from infra.config.network import NetworkConfig
from infra.config.storage import ModelStoreConfig
from infra.config.tracking import TrackingConfig
from infra.config.workflows import WorkflowsConfig
from infra.config.workloads import AppConfig

_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{1,256}$")


class StackConfig(ConfigModel):
    environment: Environment
    """dev, prod or local: selects which rules apply (prod insists on high availability)."""
    owner: str = Field(min_length=1)
    """Team that owns the stack; tagged on every resource."""
    cost_center: str = Field(min_length=1)
    """Cost center billed for the stack; tagged on every resource."""
    aws: AwsProviderConfig
    """The `aws:` keys: region, and for the local stack the LocalStack endpoints."""
    network: NetworkConfig = NetworkConfig()
    """VPC, subnets, NAT gateways, flow logs."""
    model_store: ModelStoreConfig = ModelStoreConfig()
    """Model bucket, its KMS key and the app's image repository."""
    cluster: ClusterConfig = ClusterConfig()
    """The EKS cluster."""
    capacity: CapacityConfig = CapacityConfig()
    """Node pools: CPU system/serving nodes and scale-to-zero GPU training nodes."""
    app: AppConfig = AppConfig()
    """The model-serving app and its training jobs on the cluster."""
    monitoring: MonitoringConfig = MonitoringConfig()
    """Prometheus, Alertmanager and Grafana."""
    logs: LogsConfig = LogsConfig()
    """Container logs shipped to CloudWatch Logs (with the cluster)."""
    tracking: TrackingConfig = TrackingConfig()
    """The MLflow tracking server and model registry, with its RDS PostgreSQL database."""
    workflows: WorkflowsConfig = WorkflowsConfig()
    """Argo Workflows and the retraining pipeline (prepare, candidates on GPUs, finish)."""

    @field_validator("owner", "cost_center")
    @classmethod
    def _valid_tag_value(cls, value: str) -> str:
        if not _TAG_VALUE.match(value):
            raise ValueError(
                "is not a valid AWS tag value (letters, digits, spaces and _.:/=+-@ only)"
            )
        return value

    @model_validator(mode="after")
    def _cluster_features_need_a_cluster(self) -> StackConfig:
        if not self.cluster.enabled and self.monitoring.enabled:
            raise ValueError(
                "monitoring.enabled=true needs cluster.enabled=true (monitoring runs on EKS); "
                "set monitoring.enabled to false or enable the cluster"
            )
        if not self.cluster.enabled and self.tracking.enabled:
            raise ValueError(
                "tracking.enabled=true needs cluster.enabled=true (the tracking server runs on "
                "EKS); set tracking.enabled to false or enable the cluster"
            )
        if (
            self.tracking.enabled
            and self.app.image_tag.startswith("sha256:")
            and self.tracking.image_tag is None
        ):
            raise ValueError(
                "app.imageTag is a digest, so the tracking image cannot be derived from it; "
                "set tracking.imageTag to the tracking image's digest too"
            )
        exposure = self.app.exposure
        if (
            self.environment == "prod"
            and self.cluster.enabled
            and exposure.mode == "internal"
            and exposure.certificate_arn is None
            and not exposure.allow_plain_http
        ):
            raise ValueError(
                "app.exposure: mode=internal without certificateArn serves plain HTTP in prod, "
                "so API keys cross the VPC in clear; set app.exposure.certificateArn to an ACM "
                "certificate, or allowPlainHttp: true with a WARNING: comment saying why"
            )
        shadow = [model.name for model in self.app.shadow_models]
        if self.cluster.enabled and shadow and not self.monitoring.enabled:
            raise ValueError(
                f"app.models {', '.join(shadow)} roll out in shadow (rollout.mode=shadow, the "
                "default), which decides on Prometheus' serving metrics, but "
                "monitoring.enabled=false; set rollout.mode: direct on them or enable "
                "monitoring"
            )
        if self.cluster.enabled and not self.model_store.image_repository:
            raise ValueError(
                "modelStore.imageRepository=false leaves the cluster's workloads without an "
                "image repository; set it to true or set cluster.enabled to false"
            )
        return self

    @property
    def tracking_image_tag(self) -> str:
        """The tracking image: its own setting, else the serving tag + `-tracking` (CI pushes
        all three)."""
        return self.tracking.image_tag or f"{self.app.image_tag}-tracking"

    def tags(self, project: str) -> dict[str, str]:
        """Tags every taggable resource carries (applied as the AWS provider's default tags)."""
        return {
            "project": project,
            "environment": self.environment,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }
