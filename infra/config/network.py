"""Network config: `mlops-platform:network`."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from infra.config.base import ConfigModel, environment_of

# Private subnets hold nodes and, with the VPC CNI, every pod IP: below /24 a zone runs out
# of addresses after a few nodes. Public subnets hold only NAT gateways and load balancers.
MIN_PRIVATE_PREFIX = 24
MIN_PUBLIC_PREFIX = 27
# Graviton families carry a `g` after the generation digit: t4g, c7g, m6gd, c6gn.
_GRAVITON_TYPE = re.compile(r"^[a-z]+\d+g[a-z]*\.[a-z0-9]+$")


@dataclass(frozen=True)
class SubnetPlan:
    """Subnet CIDRs per zone, in zone order."""

    private: list[str]
    public: list[str]


def plan_subnets(cidr: str, az_count: int) -> SubnetPlan:
    """Carve the VPC: its first half into equal private subnets, a quarter into public ones.

    Each family is split into the next power of two >= az_count, so adding a zone later
    keeps the existing subnets where they are. The last quarter stays free for growth.
    Raises ValueError (with the fix) when the CIDR cannot hold subnets of a useful size.
    """
    vpc = ipaddress.IPv4Network(cidr)
    split_bits = max(az_count - 1, 0).bit_length()
    halves = list(vpc.subnets(prefixlen_diff=1))
    private_prefix = vpc.prefixlen + 1 + split_bits
    public_prefix = vpc.prefixlen + 2 + split_bits
    if private_prefix > MIN_PRIVATE_PREFIX or public_prefix > MIN_PUBLIC_PREFIX:
        largest = MIN_PRIVATE_PREFIX - 1 - split_bits
        raise ValueError(
            f"cannot hold {az_count} private subnets of at least /{MIN_PRIVATE_PREFIX} "
            f"(they would be /{private_prefix}); use a /{largest} or larger CIDR, or fewer zones"
        )
    private = list(halves[0].subnets(new_prefix=private_prefix))[:az_count]
    public_quarter = next(halves[1].subnets(prefixlen_diff=1))
    public = list(public_quarter.subnets(new_prefix=public_prefix))[:az_count]
    return SubnetPlan([str(net) for net in private], [str(net) for net in public])


class NetworkConfig(ConfigModel):
    cidr: str = "10.0.0.0/16"
    """VPC CIDR block; subnets are carved out of it. Default 10.0.0.0/16."""
    az_count: int = Field(default=3, ge=1, le=6)
    """Availability zones to spread subnets over. Default 3; prod needs at least 2."""
    nat_gateways: Literal["single", "perAz", "instance"] = "perAz"
    """Egress for the private subnets: one NAT gateway per zone (zone-failure tolerant), a
    single shared one (cheaper), or `instance`: one small NAT VM (cheapest; no failover, and
    you patch it; dev only, see docs/operations.md). Default perAz."""
    nat_instance_type: str = "t4g.nano"
    """Graviton instance type of the NAT instance (natGateways instance). Default t4g.nano."""
    flow_logs: bool = True
    """Send VPC flow logs to CloudWatch. Default on."""
    flow_log_retention_days: int = Field(default=90, ge=1)
    """Days to keep flow logs. Default 90."""
    service_cidr: str = "172.20.0.0/16"
    """Kubernetes service IP range (EKS); must not overlap the VPC. Default 172.20.0.0/16."""

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

    @field_validator("service_cidr")
    @classmethod
    def _service_cidr_shape(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"is not an IPv4 network in CIDR form ({exc}); use e.g. 172.20.0.0/16"
            ) from None
        # EKS accepts a private range between /12 and /24 for services.
        if not network.is_private or not 12 <= network.prefixlen <= 24:
            raise ValueError(
                "must be a private range between /12 and /24 (EKS rule); use e.g. 172.20.0.0/16"
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
                "must be perAz in prod (a single NAT gateway or NAT instance is a zone-wide "
                "egress outage); set it to perAz"
            )
        return value

    @field_validator("nat_instance_type")
    @classmethod
    def _graviton_type(cls, value: str) -> str:
        # The AMI is looked up for arm64; an x86 type would not boot it.
        if not _GRAVITON_TYPE.match(value):
            raise ValueError(
                "is not a Graviton (arm64) instance type, which the arm64 AMI needs; "
                "use e.g. t4g.nano or t4g.micro"
            )
        return value

    @model_validator(mode="after")
    def _cidrs_fit(self) -> NetworkConfig:
        vpc = ipaddress.IPv4Network(self.cidr)
        if vpc.overlaps(ipaddress.IPv4Network(self.service_cidr)):
            raise ValueError(
                f"serviceCidr={self.service_cidr} overlaps cidr={self.cidr}; pod traffic to "
                "services would be misrouted. Choose non-overlapping ranges, "
                "e.g. serviceCidr 172.20.0.0/16 with a 10.x VPC"
            )
        try:
            plan_subnets(self.cidr, self.az_count)
        except ValueError as exc:
            raise ValueError(f"cidr={self.cidr} with azCount={self.az_count} {exc}") from None
        return self
