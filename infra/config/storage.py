"""Model storage config: `mlops-platform:modelStore`."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from infra.config.base import ConfigModel, environment_of


class ModelStoreConfig(ConfigModel):
    noncurrent_days: int = Field(default=90, ge=1)
    """Days a superseded object version is kept before it expires. Default 90; prod >= 30."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete a bucket that still holds models. Default off."""
    protect: bool = True
    """Refuse to delete the bucket and key, and keep them in AWS when the stack goes. Default on."""
    access_logging: bool = True
    """Write S3 server access logs to a separate log bucket. Default on."""
    image_retention_count: int = Field(default=30, ge=1, le=1000)
    """App images the ECR repository keeps. Default 30."""
    image_repository: bool = True
    """Create the app's ECR repository. Default on; LocalStack community has no ECR."""
    key_deletion_days: int = Field(default=30, ge=7, le=30)
    """KMS key deletion waiting period in days (AWS allows 7-30). Default 30."""
    capture_retention_days: int = Field(default=400, ge=1, le=3650)
    """Days prediction captures and feedback labels (`captures/`) are kept, their superseded
    versions a day longer. Default 400: a year of traffic to compare against, plus late
    labels."""

    @field_validator("noncurrent_days")
    @classmethod
    def _prod_keeps_history(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "prod" and value < 30:
            raise ValueError("must be >= 30 in prod (rollback window); set it to 30 or more")
        return value

    @field_validator("force_destroy")
    @classmethod
    def _prod_never_force_destroys(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "prod" and value:
            raise ValueError("must be false in prod (it deletes every model); remove the key")
        return value

    @field_validator("protect")
    @classmethod
    def _prod_is_protected(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "prod" and not value:
            raise ValueError("must be true in prod (deletion protection); remove the key")
        return value
