"""EKS cluster config: `mlops-platform:cluster`."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, ValidationInfo, field_validator, model_validator

from infra.config.base import ConfigModel, environment_of

_KUBERNETES_VERSION = re.compile(r"^1\.\d{2}$")


class ClusterConfig(ConfigModel):
    enabled: bool = True
    """Create the EKS cluster and everything on it. Default on; the local stack turns it off."""
    version: str = "1.33"
    """Kubernetes minor version, e.g. "1.33". Default 1.33."""
    endpoint_public_access: bool = False
    """Expose the API server endpoint on the internet (to publicAccessCidrs only). Default off."""
    public_access_cidrs: list[str] = Field(default_factory=list)
    """CIDRs allowed to reach a public API endpoint; never 0.0.0.0/0. Default none."""
    control_plane_logging: bool = True
    """Ship api/audit/authenticator logs to CloudWatch. Default on."""
    admin_role_arns: list[str] = Field(default_factory=list)
    """IAM roles granted cluster-admin through EKS access entries. Default none.

    Leave out the role that runs the first `pulumi up`: EKS gives the cluster's creator an
    access entry of its own, and a second entry for the same principal fails with
    ResourceInUseException. List the other roles (CI's deploy role, on-call) here."""
    deletion_protection: bool = True
    """EKS refuses to delete the cluster until this is turned off. Default on."""
    log_retention_days: int = Field(default=90, ge=1)
    """Days CloudWatch keeps control-plane logs. Default 90."""

    @field_validator("version")
    @classmethod
    def _version_is_minor(cls, value: str) -> str:
        if not _KUBERNETES_VERSION.match(value):
            raise ValueError('is not a Kubernetes minor version; quote it, e.g. "1.33"')
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs_are_narrow(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                raise ValueError(f"entry {cidr!r} is not a CIDR; use e.g. 203.0.113.0/24") from None
            if network.prefixlen == 0:
                raise ValueError(
                    f"entry {cidr!r} opens the API to the whole internet; "
                    "list your office or VPN ranges instead"
                )
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _arns_are_roles(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", arn):
                raise ValueError(
                    f"entry {arn!r} is not an IAM role ARN; use arn:aws:iam::<account>:role/<name>"
                )
        return value

    @field_validator("endpoint_public_access")
    @classmethod
    def _prod_endpoint_private(cls, value: bool, info: ValidationInfo) -> bool:
        if environment_of(info) == "prod" and value:
            raise ValueError(
                "must be false in prod (private API endpoint); reach it through the VPC or a VPN"
            )
        return value

    @model_validator(mode="after")
    def _public_endpoint_needs_cidrs(self) -> ClusterConfig:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ValueError(
                "endpointPublicAccess=true needs publicAccessCidrs (the ranges allowed in); "
                "list them or set endpointPublicAccess to false"
            )
        return self
