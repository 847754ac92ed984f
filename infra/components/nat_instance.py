"""A NAT instance: one small Graviton VM that masquerades the private subnets' egress.

Trade-off, chosen for dev only (`natGateways: instance`; the config refuses it in prod):
a NAT gateway costs about $33/month before any traffic and is managed and highly available
inside its zone; this instance costs about $3/month, but it is a single VM in one zone with
no failover (if it stops, private subnets lose internet egress until it is back), its
bandwidth is that of a t4g.nano (bursting up to 5 Gbit/s, credits permitting), and you patch
it: it runs Amazon Linux 2023, reachable through SSM Session Manager (no key pair, no port
22), and `dnf upgrade` or replacing it with a newer AMI is your job. S3 traffic never
crosses it (the VPC's S3 gateway endpoint carries that).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.assets import NAT_INSTANCE_USER_DATA
from infra.components.iam import service_trust_policy

# AWS publishes the latest AL2023 AMI ids as public SSM parameters, so no AMI id is pinned
# in the repo and a `pulumi up` after an AMI release replaces the instance with a patched one.
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
# Session Manager and patching through Systems Manager; nothing else.
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
CIDR_PLACEHOLDER = "@VPC_CIDR@"
# Hop limit 1: only processes on the instance itself reach IMDS.
IMDS_HOP_LIMIT = 1
# AL2023's AMI snapshot is 8 GiB; the root volume cannot be smaller than the snapshot.
ROOT_VOLUME_GIB = 8


@dataclass(frozen=True, kw_only=True)
class NatInstanceArgs:
    vpc_id: pulumi.Input[str]
    """VPC the instance routes for."""
    vpc_cidr: str
    """Only traffic from this range is admitted and masqueraded."""
    subnet_id: pulumi.Input[str]
    """Public subnet the instance runs in (its route table points at the internet gateway)."""
    instance_type: str
    """Graviton (arm64) type, to match the AMI."""


def user_data(vpc_cidr: str) -> str:
    """The boot script with the VPC CIDR filled in."""
    template = NAT_INSTANCE_USER_DATA.read_text()
    if CIDR_PLACEHOLDER not in template:
        raise ValueError(f"{NAT_INSTANCE_USER_DATA.name} lost its {CIDR_PLACEHOLDER} placeholder")
    return template.replace(CIDR_PLACEHOLDER, vpc_cidr)


class NatInstance(pulumi.ComponentResource):
    network_interface_id: pulumi.Output[str]
    """The primary network interface; private route tables send 0.0.0.0/0 here."""

    def __init__(
        self, name: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:network:NatInstance", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ami = aws.ssm.get_parameter_output(
            name=AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        group = self._security_group(name, args)
        profile, attachment = self._instance_profile(name)
        instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=ami.value,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[group.id],
            iam_instance_profile=profile.name,
            # A router forwards packets that are neither from nor to itself.
            source_dest_check=False,
            # Its public address is the Elastic IP below, which survives a stop/start.
            associate_public_ip_address=False,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3",
                volume_size=ROOT_VOLUME_GIB,
                encrypted=True,
                delete_on_termination=True,
            ),
            user_data=user_data(args.vpc_cidr),
            # A changed boot script only matters on a fresh instance.
            user_data_replace_on_change=True,
            tags={"Name": f"{name}-instance"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )
        aws.ec2.Eip(
            f"{name}-eip",
            domain="vpc",
            instance=instance.id,
            tags={"Name": f"{name}-eip"},
            opts=child,
        )
        self.network_interface_id = instance.primary_network_interface_id
        self.register_outputs({"networkInterfaceId": self.network_interface_id})

    def _security_group(self, name: str, args: NatInstanceArgs) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{name}-sg",
            description="NAT instance: all traffic from the VPC in, anything out",
            vpc_id=args.vpc_id,
            # Only the VPC may send traffic through it; nothing from the internet gets in,
            # so no SSH and no open admin port (management goes through SSM).
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=[args.vpc_cidr]
                )
            ],
            # It forwards the VPC's traffic to any destination, on any port.
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
                )
            ],
            tags={"Name": f"{name}-sg"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _instance_profile(
        self, name: str
    ) -> tuple[aws.iam.InstanceProfile, aws.iam.RolePolicyAttachment]:
        """A role for Session Manager and patching through Systems Manager; nothing else."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-ssm", role=role.name, policy_arn=SSM_POLICY, opts=child
        )
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=child)
        return profile, attachment
