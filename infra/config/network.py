"""Network config: `mlops-platform:network`."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from infra.config.base import ConfigModel, environment_of


class NetworkConfig(ConfigModel):
    cidr: str = "10.0.0.0/16"
    """VPC CIDR block; subnets are carved out of it. Default 10.0.0.0/16."""
    az_count: int = Field(default=3, ge=1, le=6)
    """Availability zones to spread subnets over. Default 3; prod needs at least 2."""
    nat_gateways: Literal["single", "perAz"] = "perAz"
    """One shared NAT gateway (cheap) or one per zone (zone-failure tolerant). Default perAz."""
    flow_logs: bool = True
    """Send VPC flow logs to CloudWatch. Default on."""
    flow_log_retention_days: int = Field(default=90, ge=1)
    """Days to keep flow logs. Default 90."""

    @field_validator("cidr")
    @classmethod
    def _cidr_is_a_private_network(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"is not an IPv4 network in CIDR form ({exc}); use e.g. 10.0.0.0/16"
            ) from None
        if not network.is_private:
            raise ValueError("is not a private range (RFC 1918); use e.g. 10.0.0.0/16")
        if not 16 <= network.prefixlen <= 22:
            raise ValueError(
                "must have a prefix between /16 and /22 to hold public and private subnets "
                "in every zone; use e.g. 10.0.0.0/16"
            )
        return value

    @field_validator("az_count")
    @classmethod
    def _prod_spans_zones(cls, value: int, info: ValidationInfo) -> int:
        if environment_of(info) == "prod" and value < 2:
            raise ValueError("must be >= 2 in prod (high availability); set it to 2 or 3")
        return value

    @field_validator("nat_gateways")
    @classmethod
    def _prod_nat_per_zone(cls, value: str, info: ValidationInfo) -> str:
        if environment_of(info) == "prod" and value != "perAz":
            raise ValueError(
                "must be perAz in prod (one NAT gateway is a zone-wide outage); set it to perAz"
            )
        return value
