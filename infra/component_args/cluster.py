"""Args of the cluster and what runs on it for the platform: nodes, add-ons, roles, logs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pulumi

from infra.components import iam
from infra.components.addons import ClusterAddonsArgs
from infra.components.capacity import Capacity, CapacityArgs, PoolArgs
from infra.components.cluster import EksCluster, EksClusterArgs
from infra.components.iam import ServiceAccountRoleArgs, Statement
from infra.components.log_shipping import LogShippingArgs
from infra.components.log_store import LogStore
from infra.components.model_store import ModelStore
from infra.components.network import Network
from infra.config import PROJECT, StackConfig
from infra.config.capacity import NodePoolConfig
from infra.contracts import (
    RETRAIN_TRIGGER,
    SERVING_NAMESPACE,
    SERVING_SERVICE_ACCOUNT,
    TRAINING_NAMESPACE,
    TRAINING_SERVICE_ACCOUNT,
)


def eks_cluster(config: StackConfig, net: Network, logs: LogStore) -> EksClusterArgs:
    settings = config.cluster
    return EksClusterArgs(
        version=settings.version,
        region=config.aws.region,
        profile=config.aws.profile,
        subnet_ids=net.private_subnet_ids,
        service_cidr=config.network.service_cidr,
        endpoint_public_access=settings.endpoint_public_access,
        public_access_cidrs=settings.public_access_cidrs,
        control_plane_logging=settings.control_plane_logging,
        log_retention_days=settings.log_retention_days,
        log_key_arn=logs.key_arn,
        admin_role_arns=settings.admin_role_arns,
        deletion_protection=settings.deletion_protection,
    )


def _pool(pool: NodePoolConfig) -> PoolArgs:
    return PoolArgs(
        instance_types=pool.instance_types,
        capacity_type=pool.capacity_type,
        min_size=pool.min_size,
        max_size=pool.max_size,
        disk_size_gib=pool.disk_size_gib,
    )


def capacity(config: StackConfig, cluster: EksCluster, net: Network) -> CapacityArgs:
    gpu = config.capacity.gpu
    return CapacityArgs(
        cluster_name=cluster.name,
        cluster_security_group_id=cluster.security_group_id,
        vpc_id=net.vpc_id,
        subnet_ids=net.private_subnet_ids,
        zone_count=config.network.az_count,
        system=_pool(config.capacity.system),
        gpu=_pool(gpu),
        gpu_ami_type=gpu.ami_type,
        gpu_accelerator=gpu.accelerator,
        placement_group=gpu.placement_group,
        efa=gpu.efa,
        instance_tags=config.tags(PROJECT),
        depends_on=cluster.network_addons,
    )


def cluster_addons(config: StackConfig, cluster: EksCluster, nodes: Capacity) -> ClusterAddonsArgs:
    return ClusterAddonsArgs(
        cluster_name=cluster.name,
        kubernetes_version=config.cluster.version,
        region=config.aws.region,
        oidc=cluster.oidc,
        kubernetes_provider=cluster.kubernetes_provider,
        node_groups=[*nodes.system_pools, nodes.gpu_pool],
        efa=config.capacity.gpu.efa,
    )


def _workload_role(
    cluster: EksCluster,
    store: ModelStore,
    namespace: str,
    account: str,
    statements: Callable[[str, str], list[Statement]],
) -> ServiceAccountRoleArgs:
    return ServiceAccountRoleArgs(
        oidc=cluster.oidc,
        namespace=namespace,
        service_account=account,
        policy=pulumi.Output.all(store.bucket_arn, store.key_arn).apply(
            lambda arns: iam.policy_document(statements(str(arns[0]), str(arns[1])))
        ),
        managed_policy_arns=(),
    )


def serving_role(cluster: EksCluster, store: ModelStore) -> ServiceAccountRoleArgs:
    return _workload_role(
        cluster, store, SERVING_NAMESPACE, SERVING_SERVICE_ACCOUNT, iam.serving_statements
    )


def training_role(cluster: EksCluster, store: ModelStore) -> ServiceAccountRoleArgs:
    return _workload_role(
        cluster, store, TRAINING_NAMESPACE, TRAINING_SERVICE_ACCOUNT, iam.training_statements
    )


def retrain_trigger_role(cluster: EksCluster, store: ModelStore) -> ServiceAccountRoleArgs:
    return ServiceAccountRoleArgs(
        oidc=cluster.oidc,
        namespace=TRAINING_NAMESPACE,
        service_account=RETRAIN_TRIGGER,
        policy=pulumi.Output.all(*store.dataset_queue_arns.values()).apply(
            lambda arns: iam.policy_document(iam.dataset_events_statements(list(map(str, arns))))
        ),
        managed_policy_arns=(),
    )


def log_shipping(
    config: StackConfig, cluster: EksCluster, logs: LogStore, after: Sequence[pulumi.Resource]
) -> LogShippingArgs:
    return LogShippingArgs(
        region=config.aws.region,
        log_group_name=logs.container_log_group.name,
        log_group_arn=logs.container_log_group.arn,
        oidc=cluster.oidc,
        kubernetes_provider=cluster.kubernetes_provider,
        depends_on=after,
    )
