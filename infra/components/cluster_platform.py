"""Everything of a stack that needs EKS, declared in dependency order.

Cluster, then node capacity (its nodes need the networking add-ons), then the add-ons that
run on nodes, then the IAM roles the workloads' service accounts assume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from infra.components import scheduling
from infra.components.addons import ClusterAddons, ClusterAddonsArgs
from infra.components.capacity import Capacity, CapacityArgs, PoolArgs
from infra.components.cluster import EksCluster, EksClusterArgs
from infra.components.iam import (
    ServiceAccountRole,
    ServiceAccountRoleArgs,
    Statement,
    policy_document,
    serving_statements,
    training_statements,
)
from infra.components.log_shipping import LogShipping, LogShippingArgs
from infra.components.log_store import LogStore
from infra.components.model_store import ModelStore
from infra.components.network import Network
from infra.config import PROJECT, StackConfig
from infra.config.capacity import NodePoolConfig


@dataclass(frozen=True)
class WorkloadRoles:
    serving: ServiceAccountRole
    """Assumed by `serving/model-server`: reads models/."""
    training: ServiceAccountRole
    """Assumed by `training/trainer`: reads datasets/, writes models/."""


@dataclass(frozen=True)
class ClusterPlatform:
    cluster: EksCluster
    capacity: Capacity
    addons: ClusterAddons
    roles: WorkloadRoles
    log_store: LogStore
    logs: LogShipping


def _pool(pool: NodePoolConfig) -> PoolArgs:
    return PoolArgs(
        instance_types=pool.instance_types,
        capacity_type=pool.capacity_type,
        min_size=pool.min_size,
        max_size=pool.max_size,
        disk_size_gib=pool.disk_size_gib,
    )


def declare_cluster_platform(
    name: str,
    config: StackConfig,
    network: Network,
    store: ModelStore,
    log_store: LogStore,
    opts: pulumi.ResourceOptions,
) -> ClusterPlatform:
    settings = config.cluster
    cluster = EksCluster(
        name,
        EksClusterArgs(
            version=settings.version,
            region=config.aws.region,
            profile=config.aws.profile,
            subnet_ids=network.private_subnet_ids,
            service_cidr=config.network.service_cidr,
            endpoint_public_access=settings.endpoint_public_access,
            public_access_cidrs=settings.public_access_cidrs,
            control_plane_logging=settings.control_plane_logging,
            log_retention_days=settings.log_retention_days,
            log_key_arn=log_store.key_arn,
            admin_role_arns=settings.admin_role_arns,
            deletion_protection=settings.deletion_protection,
        ),
        opts,
    )
    gpu = config.capacity.gpu
    capacity = Capacity(
        name,
        CapacityArgs(
            cluster_name=cluster.name,
            cluster_security_group_id=cluster.security_group_id,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            zone_count=config.network.az_count,
            system=_pool(config.capacity.system),
            gpu=_pool(gpu),
            gpu_ami_type=gpu.ami_type,
            gpu_accelerator=gpu.accelerator,
            placement_group=gpu.placement_group,
            efa=gpu.efa,
            instance_tags=config.tags(PROJECT),
            depends_on=cluster.network_addons,
        ),
        opts,
    )
    addons = ClusterAddons(
        name,
        ClusterAddonsArgs(
            cluster_name=cluster.name,
            kubernetes_version=settings.version,
            region=config.aws.region,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer_url=cluster.oidc_issuer_url,
            kubernetes_provider=cluster.kubernetes_provider,
            node_groups=[*capacity.system_pools, capacity.gpu_pool],
            efa=config.capacity.gpu.efa,
        ),
        opts,
    )

    def role(
        kind: str, namespace: str, account: str, builder: Callable[[str, str], list[Statement]]
    ) -> ServiceAccountRole:
        return ServiceAccountRole(
            f"{name}-{kind}",
            ServiceAccountRoleArgs(
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_issuer_url=cluster.oidc_issuer_url,
                namespace=namespace,
                service_account=account,
                policy=pulumi.Output.all(store.bucket_arn, store.key_arn).apply(
                    lambda arns: policy_document(builder(str(arns[0]), str(arns[1])))
                ),
            ),
            opts,
        )

    roles = WorkloadRoles(
        serving=role(
            "serving",
            scheduling.SERVING_NAMESPACE,
            scheduling.SERVING_SERVICE_ACCOUNT,
            serving_statements,
        ),
        training=role(
            "training",
            scheduling.TRAINING_NAMESPACE,
            scheduling.TRAINING_SERVICE_ACCOUNT,
            training_statements,
        ),
    )
    logs = LogShipping(
        name,
        LogShippingArgs(
            region=config.aws.region,
            log_group_name=log_store.container_log_group.name,
            log_group_arn=log_store.container_log_group.arn,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer_url=cluster.oidc_issuer_url,
            kubernetes_provider=cluster.kubernetes_provider,
            depends_on=[capacity, addons],
        ),
        opts,
    )
    return ClusterPlatform(cluster, capacity, addons, roles, log_store, logs)
