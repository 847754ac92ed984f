"""App workload config: `mlops-platform:app`."""

from __future__ import annotations

from pydantic import Field

from infra.config.base import ConfigModel


class AppConfig(ConfigModel):
    image_tag: str = "latest"
    """Image tag or digest of the app in the stack's ECR repository; set by the CI deploy job."""
    model_name: str = "iris-classifier"
    """Registered model the server loads."""
    min_replicas: int = Field(default=2, ge=1)
    """Fewest serving pods. Default 2."""
    max_replicas: int = Field(default=6, ge=1)
    """Most serving pods (HPA). Default 6."""
