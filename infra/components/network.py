"""The VPC: public and private subnets per zone, NAT egress, an S3 endpoint, flow logs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.components.nat_instance import NatInstance, NatInstanceArgs
from infra.config.network import plan_subnets

# Load balancers find their subnets by these tags (AWS Load Balancer Controller and the
# in-tree service controller); nodes never need a public subnet.
PUBLIC_SUBNET_TAGS = {"kubernetes.io/role/elb": "1", "mlops-platform/tier": "public"}
PRIVATE_SUBNET_TAGS = {"kubernetes.io/role/internal-elb": "1", "mlops-platform/tier": "private"}


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    cidr: str
    """VPC CIDR; subnets are derived from it (see `plan_subnets`)."""
    az_count: int
    """Zones to spread over (dev 2, prod 3)."""
    nat_gateways: Literal["single", "perAz", "instance"]
    """One shared NAT gateway, one per zone, or one NAT instance (dev; see nat_instance.py)."""
    nat_instance_type: str = "t4g.nano"
    """Instance type of the NAT instance when nat_gateways is instance. Default t4g.nano."""
    region: str
    """Region of the VPC, for the S3 gateway endpoint's service name."""
    flow_logs: bool = True
    """Send VPC flow logs to CloudWatch Logs. Default on."""
    flow_log_retention_days: int = 90
    """Days CloudWatch keeps the flow logs. Default 90."""
    log_key_arn: pulumi.Input[str] | None = None
    """KMS key of the flow-log group (the stack's LogStore key). Default AWS-owned encryption."""
    extra_tags: dict[str, str] = field(default_factory=dict[str, str])
    """Tags on every subnet besides the provider's default tags. Default none."""


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        plan = plan_subnets(args.cidr, args.az_count)
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

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        private_tables: list[aws.ec2.RouteTable] = []
        nat_ids: list[pulumi.Output[str]] = []
        nat_instance: NatInstance | None = None
        for index in range(args.az_count):
            zone = zones.names[index]
            letter = "abcdef"[index]
            public = aws.ec2.Subnet(
                f"{name}-public-{letter}",
                vpc_id=vpc.id,
                cidr_block=plan.public[index],
                availability_zone=zone,
                # Nothing launched here gets a public IP implicitly: NAT gateways take an
                # Elastic IP, load balancers get theirs from ELB.
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{letter}", **PUBLIC_SUBNET_TAGS, **args.extra_tags},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{letter}",
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=child,
            )
            public_subnets.append(public)
            if args.nat_gateways == "instance" and index == 0:
                nat_instance = NatInstance(
                    f"{name}-nat",
                    NatInstanceArgs(
                        vpc_id=vpc.id,
                        vpc_cidr=args.cidr,
                        subnet_id=public.id,
                        instance_type=args.nat_instance_type,
                    ),
                    pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            elif args.nat_gateways == "perAz" or (args.nat_gateways == "single" and index == 0):
                eip = aws.ec2.Eip(f"{name}-nat-{letter}", domain="vpc", opts=child)
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{letter}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags={"Name": f"{name}-nat-{letter}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                nat_ids.append(nat.id)

            private = aws.ec2.Subnet(
                f"{name}-private-{letter}",
                vpc_id=vpc.id,
                cidr_block=plan.private[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={
                    "Name": f"{name}-private-{letter}",
                    **PRIVATE_SUBNET_TAGS,
                    **args.extra_tags,
                },
                opts=child,
            )
            table = aws.ec2.RouteTable(
                f"{name}-private-{letter}",
                vpc_id=vpc.id,
                tags={"Name": f"{name}-private-{letter}"},
                opts=child,
            )
            aws.ec2.Route(
                f"{name}-private-{letter}-default",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                # Per-zone NAT keeps a zone's egress inside the zone (no cross-zone charges,
                # no shared fate); a single NAT (gateway or instance) serves every zone.
                nat_gateway_id=nat_ids[-1] if nat_instance is None else None,
                network_interface_id=(
                    nat_instance.network_interface_id if nat_instance is not None else None
                ),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{letter}",
                subnet_id=private.id,
                route_table_id=table.id,
                opts=child,
            )
            private_subnets.append(private)
            private_tables.append(table)

        # Model and dataset traffic to S3 goes through this free gateway, not the paid NAT.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[public_rt.id, *(table.id for table in private_tables)],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )
        if args.flow_logs:
            self._flow_logs(name, vpc, args.flow_log_retention_days, args.log_key_arn)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*(s.id for s in public_subnets))
        self.private_subnet_ids = pulumi.Output.all(*(s.id for s in private_subnets))
        self.nat_gateway_count = len(nat_ids)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _flow_logs(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        retention_days: int,
        key_arn: pulumi.Input[str] | None,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/mlops-platform/{name}/vpc-flow-logs",
            retention_in_days=retention_days,
            kms_key_id=key_arn,
            opts=child,
        )
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        role = aws.iam.Role(
            f"{name}-flow-logs",
            # Confused-deputy guard: the service may assume it only for this account's logs.
            assume_role_policy=account_id.apply(
                lambda account: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            opts=child,
        )
