"""AWS provider config: the `aws:` keys of a stack file, passed to one explicit provider."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from infra.config.base import ConfigModel

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


class AwsProviderConfig(ConfigModel):
    region: str
    """AWS region of every resource of the stack, e.g. us-east-1. Required."""
    profile: str | None = None
    """Named profile from ~/.aws/config for local runs. Default: the standard credential chain."""
    allowed_account_ids: list[str] = Field(default_factory=list[str])
    """Refuse to deploy into any other account (guards against a wrong profile). Default: any."""
    endpoints: list[dict[str, str]] = Field(default_factory=list[dict[str, str]])
    """Per-service endpoint overrides; only the local stack sets these (LocalStack)."""
    skip_credentials_validation: bool = False
    """Skip the STS credentials check (LocalStack only). Default off."""
    skip_requesting_account_id: bool = False
    """Do not look up the account id (LocalStack only). Default off."""
    skip_metadata_api_check: bool = False
    """Do not ask the EC2 instance metadata service for credentials (LocalStack only). Default
    off, so a self-hosted runner or an EC2 admin host can deploy with its instance profile."""
    s3_use_path_style: bool = False
    """Path-style S3 addressing (LocalStack only). Default off."""
    access_key: str | None = None
    """Only LocalStack's fixed test credentials belong here; real keys come from the environment."""
    secret_key: str | None = None
    """Pairs with accessKey; LocalStack's test value only."""

    @field_validator("region")
    @classmethod
    def _region_shape(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("is not an AWS region name; use e.g. us-east-1")
        return value

    @field_validator("allowed_account_ids")
    @classmethod
    def _account_ids(cls, value: list[str]) -> list[str]:
        for account in value:
            if not re.fullmatch(r"\d{12}", account):
                raise ValueError(f"entry {account!r} is not a 12-digit AWS account id")
        return value

    @property
    def targets_localstack(self) -> bool:
        return bool(self.endpoints)
