"""The VPC: public and private subnets per zone, NAT egress, an S3 endpoint, flow logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.components.flow_logs import declare_flow_logs
from infra.components.nat_instance import NatInstance, NatInstanceArgs

# Load balancers find their subnets by these tags (AWS Load Balancer Controller and the
# in-tree service controller); nodes never need a public subnet.
PUBLIC_SUBNET_TAGS = {"kubernetes.io/role/elb": "1", "mlops-platform/tier": "public"}
PRIVATE_SUBNET_TAGS = {"kubernetes.io/role/internal-elb": "1", "mlops-platform/tier": "private"}
ZONE_LETTERS = "abcdef"


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    cidr: str
    """VPC CIDR."""
    private_subnet_cidrs: Sequence[str]
    """One private subnet per zone, in zone order (nodes and pods)."""
    public_subnet_cidrs: Sequence[str]
    """One public subnet per zone, in zone order (NAT and load balancers)."""
    nat_gateways: Literal["single", "perAz", "instance"]
    """One shared NAT gateway, one per zone, or one NAT instance (dev; see nat_instance.py)."""
    nat_instance_type: str
    """Instance type of the NAT instance when nat_gateways is instance."""
    region: str
    """Region of the VPC, for the S3 gateway endpoint's service name."""
    flow_logs: bool
    """Send VPC flow logs to CloudWatch Logs."""
    flow_log_retention_days: int
    """Days CloudWatch keeps the flow logs."""
    log_key_arn: pulumi.Input[str] | None
    """KMS key of the flow-log group (the stack's LogStore key); None: AWS-owned encryption."""

    def __post_init__(self) -> None:
        zones = len(self.private_subnet_cidrs)
        if not 1 <= zones <= len(ZONE_LETTERS) or len(self.public_subnet_cidrs) != zones:
            raise ValueError(
                f"{zones} private and {len(self.public_subnet_cidrs)} public subnets: need one "
                f"of each per zone, 1 to {len(ZONE_LETTERS)} zones"
            )


@dataclass(frozen=True)
class _Egress:
    """Where a private route table sends 0.0.0.0/0: a NAT gateway or a NAT instance."""

    nat_gateway_id: pulumi.Output[str] | None = None
    network_interface_id: pulumi.Output[str] | None = None


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:network:Network", name, None, opts)
        zones = aws.get_availability_zones_output(
            state="available",
            # Local zones and wavelength zones lack most instance types; stay on regular ones.
            filters=[
                aws.GetAvailabilityZonesFilterArgs(
                    name="opt-in-status", values=["opt-in-not-required"]
                )
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        vpc, igw = self._setup_vpc(name, args)
        public_table = self._setup_public_routing(name, vpc, igw)
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        private_tables: list[aws.ec2.RouteTable] = []
        egress = _Egress()
        self.nat_gateway_count = 0
        for index in range(len(args.private_subnet_cidrs)):
            zone = zones.names[index]
            public = self._setup_public_subnet(name, args, index, zone, vpc, public_table)
            egress = self._setup_nat(name, args, index, vpc, public, igw) or egress
            private, table = self._setup_private_subnet(name, args, index, zone, vpc, egress)
            public_subnets.append(public)
            private_subnets.append(private)
            private_tables.append(table)
        self._setup_s3_endpoint(name, args, vpc, [public_table, *private_tables])
        if args.flow_logs:
            declare_flow_logs(self, name, vpc, args.flow_log_retention_days, args.log_key_arn)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*(s.id for s in public_subnets))
        self.private_subnet_ids = pulumi.Output.all(*(s.id for s in private_subnets))
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _setup_vpc(
        self, name: str, args: NetworkArgs
    ) -> tuple[aws.ec2.Vpc, aws.ec2.InternetGateway]:
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,  # EKS private endpoints and VPC endpoints need DNS
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        # CIS: the default security group must allow nothing; resources use their own groups.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        return vpc, igw

    def _setup_public_routing(
        self, name: str, vpc: aws.ec2.Vpc, igw: aws.ec2.InternetGateway
    ) -> aws.ec2.RouteTable:
        child = pulumi.ResourceOptions(parent=self)
        table = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        return table

    def _setup_public_subnet(
        self,
        name: str,
        args: NetworkArgs,
        index: int,
        zone: pulumi.Input[str],
        vpc: aws.ec2.Vpc,
        table: aws.ec2.RouteTable,
    ) -> aws.ec2.Subnet:
        child = pulumi.ResourceOptions(parent=self)
        subnet = f"{name}-public-{ZONE_LETTERS[index]}"
        public = aws.ec2.Subnet(
            subnet,
            vpc_id=vpc.id,
            cidr_block=args.public_subnet_cidrs[index],
            availability_zone=zone,
            # Nothing launched here gets a public IP implicitly: NAT gateways take an
            # Elastic IP, load balancers get theirs from ELB.
            map_public_ip_on_launch=False,
            tags={"Name": subnet, **PUBLIC_SUBNET_TAGS},
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            subnet, subnet_id=public.id, route_table_id=table.id, opts=child
        )
        return public

    def _setup_nat(
        self,
        name: str,
        args: NetworkArgs,
        index: int,
        vpc: aws.ec2.Vpc,
        public: aws.ec2.Subnet,
        igw: aws.ec2.InternetGateway,
    ) -> _Egress | None:
        """Zone `index`'s own egress, or None where the zone shares the first zone's."""
        mode = args.nat_gateways
        after_igw = pulumi.ResourceOptions(parent=self, depends_on=[igw])
        if mode == "instance" and index == 0:
            instance = NatInstance(
                f"{name}-nat",
                NatInstanceArgs(
                    vpc_id=vpc.id,
                    vpc_cidr=args.cidr,
                    subnet_id=public.id,
                    instance_type=args.nat_instance_type,
                ),
                after_igw,
            )
            return _Egress(network_interface_id=instance.network_interface_id)
        if mode == "perAz" or (mode == "single" and index == 0):
            nat = f"{name}-nat-{ZONE_LETTERS[index]}"
            eip = aws.ec2.Eip(nat, domain="vpc", opts=pulumi.ResourceOptions(parent=self))
            gateway = aws.ec2.NatGateway(
                nat, allocation_id=eip.id, subnet_id=public.id, tags={"Name": nat}, opts=after_igw
            )
            self.nat_gateway_count += 1
            return _Egress(nat_gateway_id=gateway.id)
        return None

    def _setup_private_subnet(
        self,
        name: str,
        args: NetworkArgs,
        index: int,
        zone: pulumi.Input[str],
        vpc: aws.ec2.Vpc,
        egress: _Egress,
    ) -> tuple[aws.ec2.Subnet, aws.ec2.RouteTable]:
        child = pulumi.ResourceOptions(parent=self)
        subnet = f"{name}-private-{ZONE_LETTERS[index]}"
        private = aws.ec2.Subnet(
            subnet,
            vpc_id=vpc.id,
            cidr_block=args.private_subnet_cidrs[index],
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={"Name": subnet, **PRIVATE_SUBNET_TAGS},
            opts=child,
        )
        table = aws.ec2.RouteTable(subnet, vpc_id=vpc.id, tags={"Name": subnet}, opts=child)
        aws.ec2.Route(
            f"{subnet}-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            # Per-zone NAT keeps a zone's egress inside the zone (no cross-zone charges,
            # no shared fate); a single NAT (gateway or instance) serves every zone.
            nat_gateway_id=egress.nat_gateway_id,
            network_interface_id=egress.network_interface_id,
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            subnet, subnet_id=private.id, route_table_id=table.id, opts=child
        )
        return private, table

    def _setup_s3_endpoint(
        self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, tables: list[aws.ec2.RouteTable]
    ) -> None:
        # Model and dataset traffic to S3 goes through this free gateway, not the paid NAT.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in tables],
            tags={"Name": f"{name}-s3"},
            opts=pulumi.ResourceOptions(parent=self),
        )
