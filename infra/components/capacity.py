"""Worker capacity: a CPU system pool and a GPU training pool that scales from and to zero."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.components import scheduling
from infra.components.iam import service_trust_policy

NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    # Shell access through SSM Session Manager, so no node ever opens port 22.
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
# Hop limit 1: a pod's packets to IMDS cross one extra hop (the pod network) and are dropped,
# so pods cannot borrow the node role; they get AWS access only through IRSA roles.
# Host-network agents (VPC CNI, kube-proxy) are one hop away and still reach IMDS.
IMDS_HOP_LIMIT = 1
# cluster-autoscaler reads these ASG tags to build a node template while a pool is at zero.
AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
# The launch template gives each GPU node one EFA interface (device index 0).
EFA_INTERFACES_PER_NODE = 1


@dataclass(frozen=True, kw_only=True)
class PoolArgs:
    instance_types: Sequence[str]
    """EC2 types, most preferred first."""
    capacity_type: Literal["ON_DEMAND", "SPOT"]
    """On-demand or spot instances."""
    min_size: int
    """Fewest nodes."""
    max_size: int
    """Most nodes."""
    disk_size_gib: int
    """Encrypted gp3 root volume size."""


@dataclass(frozen=True, kw_only=True)
class CapacityArgs:
    cluster_name: pulumi.Input[str]
    """The EKS cluster the node groups join."""
    cluster_security_group_id: pulumi.Input[str]
    """The cluster's security group (on the GPU nodes' EFA interfaces)."""
    vpc_id: pulumi.Input[str]
    """VPC of the nodes (for the EFA security group)."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets, one per zone, in zone order."""
    zone_count: int
    """How many zones (private subnets) there are: the system pool gets a node group each."""
    system: PoolArgs
    """The system pool's sizes are totals, split over the zones' node groups."""
    gpu: PoolArgs
    """The GPU pool: tainted, training only, scales from and to zero."""
    gpu_ami_type: str
    """EKS AMI type of the GPU pool (NVIDIA driver and container toolkit preinstalled)."""
    gpu_accelerator: str
    """`k8s.amazonaws.com/accelerator` label of GPU nodes, e.g. nvidia-a10g."""
    placement_group: bool
    """Pack GPU nodes in one cluster placement group (one zone) for multi-node training."""
    efa: bool
    """Give GPU nodes an Elastic Fabric Adapter (EFA-capable types only)."""
    instance_tags: Mapping[str, str]
    """Tags for instances and volumes (provider default tags do not reach them)."""
    depends_on: Sequence[pulumi.Resource]
    """Resources nodes need first (the networking add-ons)."""


class Capacity(pulumi.ComponentResource):
    system_pools: list[aws.eks.NodeGroup]
    gpu_pool: aws.eks.NodeGroup
    gpu_pool_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: CapacityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:capacity:Capacity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-node", assume_role_policy=service_trust_policy("ec2.amazonaws.com"), opts=child
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{index}", role=role.name, policy_arn=arn, opts=child
            )
            for index, arn in enumerate(NODE_POLICIES)
        ]
        ready: list[pulumi.Resource] = [*attachments, *args.depends_on]

        system_template = self._launch_template(f"{name}-system", args.system, args, gpu=False)
        self.system_pools = self._system_pools(name, args, role, system_template, ready)

        gpu_template = self._launch_template(f"{name}-gpu", args.gpu, args, gpu=True)
        # A cluster placement group lives in one zone, so the pool does too.
        gpu_subnets = (
            pulumi.Output.from_input(args.subnet_ids).apply(lambda ids: [ids[0]])
            if args.placement_group
            else args.subnet_ids
        )
        taint = aws.eks.NodeGroupTaintArgs(
            key=scheduling.GPU_TAINT_KEY, value=scheduling.GPU_TAINT_VALUE, effect="NO_SCHEDULE"
        )
        self.gpu_pool = self._node_group(
            f"{name}-gpu",
            args.gpu,
            args,
            role,
            gpu_template,
            subnet_ids=gpu_subnets,
            ami_type=args.gpu_ami_type,
            labels=self._gpu_labels(args),
            taints=[taint],
            ready=ready,
        )
        self._gpu_template_tags(name, args)
        self.gpu_pool_name = self.gpu_pool.node_group_name
        self.register_outputs({"gpuNodePoolName": self.gpu_pool_name})

    def _system_pools(
        self,
        name: str,
        args: CapacityArgs,
        role: aws.iam.Role,
        template: aws.ec2.LaunchTemplate,
        ready: list[pulumi.Resource],
    ) -> list[aws.eks.NodeGroup]:
        """One node group per zone, so cluster-autoscaler can add a node in the zone a pending
        pod needs: Prometheus' and Alertmanager's EBS volumes are zonal, and prod's serving
        pods spread over zones. A group spanning all zones lets AWS pick the zone of a new
        node, and a pod bound to another zone stays Pending. Sizes are split so the totals
        stay the configured ones (`balance-similar-node-groups` keeps the groups even)."""
        pools: list[aws.eks.NodeGroup] = []
        for zone in range(args.zone_count):
            subnet = pulumi.Output.from_input(args.subnet_ids).apply(
                lambda ids, zone=zone: [ids[zone]]
            )
            group = self._node_group(
                f"{name}-system-{zone}",
                zone_share(args.system, zone, args.zone_count),
                args,
                role,
                template,
                subnet_ids=subnet,
                ami_type="AL2023_x86_64_STANDARD",
                labels={scheduling.POOL_LABEL: scheduling.SYSTEM_POOL},
                taints=[],
                ready=ready,
            )
            # A zone's group may sit at zero: the autoscaler must know which pods fit it.
            self._template_tags(
                f"{name}-system-{zone}",
                group,
                {f"label/{scheduling.POOL_LABEL}": scheduling.SYSTEM_POOL},
            )
            pools.append(group)
        return pools

    @staticmethod
    def _gpu_labels(args: CapacityArgs) -> dict[str, str]:
        return {
            scheduling.POOL_LABEL: scheduling.GPU_POOL,
            scheduling.ACCELERATOR_LABEL: args.gpu_accelerator,
        }

    def _launch_template(
        self, name: str, pool: PoolArgs, args: CapacityArgs, *, gpu: bool
    ) -> aws.ec2.LaunchTemplate:
        placement = None
        interfaces = None
        if gpu and args.placement_group:
            group = aws.ec2.PlacementGroup(
                f"{name}-placement", strategy="cluster", opts=pulumi.ResourceOptions(parent=self)
            )
            placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=group.name)
        if gpu and args.efa:
            interfaces = [
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    interface_type="efa",
                    associate_public_ip_address="false",
                    delete_on_termination="true",
                    security_groups=[args.cluster_security_group_id, self._efa_group(name, args)],
                )
            ]
        tags = dict(args.instance_tags)
        return aws.ec2.LaunchTemplate(
            name,
            description=f"{name} nodes: IMDSv2 only, encrypted gp3 root volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=pool.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            network_interfaces=interfaces,
            placement=placement,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _efa_group(self, name: str, args: CapacityArgs) -> pulumi.Output[str]:
        """EFA needs all traffic between the nodes of the group, and nothing from outside it."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-efa",
            description="EFA traffic between GPU training nodes",
            vpc_id=args.vpc_id,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-efa-in", security_group_id=group.id, ip_protocol="-1",
            referenced_security_group_id=group.id, opts=child,
        )  # fmt: skip
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-efa-out", security_group_id=group.id, ip_protocol="-1",
            referenced_security_group_id=group.id, opts=child,
        )  # fmt: skip
        return group.id

    def _node_group(
        self,
        name: str,
        pool: PoolArgs,
        args: CapacityArgs,
        role: aws.iam.Role,
        template: aws.ec2.LaunchTemplate,
        *,
        subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        ami_type: str,
        labels: dict[str, str],
        taints: list[aws.eks.NodeGroupTaintArgs],
        ready: list[pulumi.Resource],
    ) -> aws.eks.NodeGroup:
        return aws.eks.NodeGroup(
            name,
            cluster_name=args.cluster_name,
            node_group_name=name,
            node_role_arn=role.arn,
            subnet_ids=subnet_ids,
            ami_type=ami_type,
            capacity_type=pool.capacity_type,
            instance_types=list(pool.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_size, max_size=pool.max_size, desired_size=pool.min_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels=labels,
            taints=taints,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=ready,
                # cluster-autoscaler owns the desired size once the pool exists.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _gpu_template_tags(self, name: str, args: CapacityArgs) -> None:
        """Tell cluster-autoscaler what a GPU node offers while the pool has none to read.

        EKS does not copy node-group labels/taints onto the Auto Scaling group; without these
        tags a pending training pod (which tolerates the taint and selects the label) would
        never trigger a scale-up from zero, and one requesting EFA would not fit the template.
        """
        tags = {f"label/{key}": value for key, value in self._gpu_labels(args).items()} | {
            f"taint/{scheduling.GPU_TAINT_KEY}": (
                f"{scheduling.GPU_TAINT_VALUE}:{scheduling.GPU_TAINT_EFFECT}"
            ),
        }
        if args.efa:
            tags[f"resources/{scheduling.EFA_RESOURCE}"] = str(EFA_INTERFACES_PER_NODE)
        self._template_tags(f"{name}-gpu", self.gpu_pool, tags)

    def _template_tags(self, name: str, pool: aws.eks.NodeGroup, tags: dict[str, str]) -> None:
        group = pool.resources.apply(
            lambda resources: resources[0].autoscaling_groups[0].name or ""  # type: ignore[index]
        )
        for index, (key, value) in enumerate(tags.items()):
            aws.autoscaling.Tag(
                f"{name}-template-{index}",
                autoscaling_group_name=group,
                tag=aws.autoscaling.TagTagArgs(
                    key=f"{AUTOSCALER_TEMPLATE}/{key}", value=value, propagate_at_launch=False
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )


def zone_share(pool: PoolArgs, zone: int, zone_count: int) -> PoolArgs:
    """Zone `zone`'s part of a pool whose sizes are totals: the first zones take the remainder.
    A node group needs a maximum of at least 1, so a zone never gets less."""

    def share(total: int) -> int:
        return total // zone_count + (1 if zone < total % zone_count else 0)

    return dataclasses.replace(
        pool, min_size=share(pool.min_size), max_size=max(1, share(pool.max_size))
    )
