"""The one mapping from the typed stack config to each component's args.

Config (infra/config/) owns every default and every rule; components (infra/components/) take
explicit args and know nothing of the config. Each function here builds one component's args
from the config and the outputs of the components it depends on, so `platform.py` shows only
components, and a setting is traced to its effect in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pulumi

from infra.components import iam
from infra.components.addons import ClusterAddonsArgs
from infra.components.capacity import Capacity, CapacityArgs, PoolArgs
from infra.components.cluster import EksCluster, EksClusterArgs
from infra.components.iam import ServiceAccountRoleArgs, Statement
from infra.components.log_shipping import LogShipping, LogShippingArgs
from infra.components.log_store import LogStore, LogStoreArgs
from infra.components.model_store import ModelStore, ModelStoreArgs
from infra.components.monitoring import GrafanaLogs, MonitoringArgs
from infra.components.monitoring_files import (
    AlertReceivers,
    EmailReceiver,
    GrafanaAccess,
    SlackReceiver,
)
from infra.components.network import Network, NetworkArgs
from infra.components.scheduling import GP3_STORAGE_CLASS
from infra.components.workloads import (
    Exposure,
    Namespaces,
    NamespacesArgs,
    PodResources,
    RetrainTrigger,
    RetrainTriggerArgs,
    ServingArgs,
    Training,
    TrainingArgs,
)
from infra.components.workloads.common import image
from infra.config import PROJECT, ClusterSecrets, StackConfig
from infra.config.capacity import NodePoolConfig
from infra.config.network import plan_subnets
from infra.config.secrets import AlertSecrets
from infra.config.workloads import ResourcesConfig
from infra.contracts import (
    SERVING_NAMESPACE,
    SERVING_SERVICE_ACCOUNT,
    TRAINING_NAMESPACE,
    TRAINING_SERVICE_ACCOUNT,
)


def stack_name(config: StackConfig) -> str:
    """Prefix of every resource name of the stack."""
    return f"mlops-{config.environment}"


def has_log_store(config: StackConfig) -> bool:
    """Container logs need it with the cluster; flow logs use its key."""
    return config.cluster.enabled or config.network.flow_logs


def log_store(config: StackConfig) -> LogStoreArgs:
    return LogStoreArgs(
        region=config.aws.region,
        retention_days=config.logs.retention_days,
        key_deletion_days=config.model_store.key_deletion_days,
    )


def network(config: StackConfig, logs: LogStore | None) -> NetworkArgs:
    net = config.network
    plan = plan_subnets(net.cidr, net.az_count)
    return NetworkArgs(
        cidr=net.cidr,
        private_subnet_cidrs=plan.private,
        public_subnet_cidrs=plan.public,
        nat_gateways=net.nat_gateways,
        nat_instance_type=net.nat_instance_type,
        region=config.aws.region,
        flow_logs=net.flow_logs,
        flow_log_retention_days=net.flow_log_retention_days,
        log_key_arn=logs.key_arn if logs else None,
    )


def model_store(config: StackConfig) -> ModelStoreArgs:
    models = config.model_store
    return ModelStoreArgs(
        noncurrent_days=models.noncurrent_days,
        protect=models.protect,
        force_destroy=models.force_destroy,
        access_logging=models.access_logging,
        image_repository=models.image_repository,
        image_retention_count=models.image_retention_count,
        key_deletion_days=models.key_deletion_days,
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
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer_url=cluster.oidc_issuer_url,
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
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer_url=cluster.oidc_issuer_url,
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


def log_shipping(
    config: StackConfig, cluster: EksCluster, logs: LogStore, after: Sequence[pulumi.Resource]
) -> LogShippingArgs:
    return LogShippingArgs(
        region=config.aws.region,
        log_group_name=logs.container_log_group.name,
        log_group_arn=logs.container_log_group.arn,
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer_url=cluster.oidc_issuer_url,
        kubernetes_provider=cluster.kubernetes_provider,
        depends_on=after,
    )


def namespaces(cluster: EksCluster) -> NamespacesArgs:
    return NamespacesArgs(k8s_provider=cluster.kubernetes_provider)


def _resources(resources: ResourcesConfig) -> PodResources:
    return PodResources(
        cpu_request=resources.cpu_request,
        memory_request=resources.memory_request,
        cpu_limit=resources.cpu_limit,
        memory_limit=resources.memory_limit,
    )


def _image(store: ModelStore, reference: str) -> pulumi.Output[str]:
    if store.repository_url is None:
        # StackConfig rejects a cluster without a repository before anything is declared.
        raise TypeError("workloads need the image repository's URL")
    return image(store.repository_url, reference)


def training(
    config: StackConfig,
    cluster: EksCluster,
    spaces: Namespaces,
    store: ModelStore,
    role_arn: pulumi.Input[str],
) -> TrainingArgs:
    app, schedule = config.app, config.app.training
    return TrainingArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.training,
        image=_image(store, app.training_image_tag),
        role_arn=role_arn,
        bucket=store.bucket_name,
        region=config.aws.region,
        model_name=app.model_name,
        model_alias=app.model_alias,
        schedule=schedule.schedule,
        time_zone=schedule.time_zone,
        nodes=schedule.nodes,
        gpus_per_node=schedule.gpus_per_node,
        resources=_resources(schedule.resources),
        active_deadline_seconds=schedule.active_deadline_seconds,
        backoff_limit=schedule.backoff_limit,
        efa=config.capacity.gpu.efa,
    )


def serving(
    config: StackConfig,
    secrets: ClusterSecrets,
    cluster: EksCluster,
    spaces: Namespaces,
    store: ModelStore,
    role_arn: pulumi.Input[str],
) -> ServingArgs:
    app, exposure = config.app, config.app.exposure
    return ServingArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.serving,
        image=_image(store, app.image_tag),
        role_arn=role_arn,
        bucket=store.bucket_name,
        region=config.aws.region,
        api_keys=secrets.api_keys,
        model_name=app.model_name,
        model_alias=app.model_alias,
        min_replicas=app.min_replicas,
        max_replicas=app.max_replicas,
        target_cpu_percent=app.target_cpu_percent,
        high_availability=app.high_availability,
        resources=_resources(app.resources),
        exposure=Exposure(
            mode=exposure.mode,
            certificate_arn=exposure.certificate_arn,
            source_cidrs=exposure.source_cidrs,
            allow_plain_http=exposure.allow_plain_http,
            vpc_cidr=config.network.cidr,
        ),
    )


def retrain_trigger(
    config: StackConfig,
    secrets: ClusterSecrets,
    cluster: EksCluster,
    spaces: Namespaces,
    store: ModelStore,
    schedule: Training,
) -> RetrainTriggerArgs:
    return RetrainTriggerArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.training,
        # The serving image carries `python -m app.trigger`.
        image=_image(store, config.app.image_tag),
        cronjob=schedule.cronjob_name,
        token=secrets.retrain_webhook_token,
    )


def _receivers(config: StackConfig, alerts: AlertSecrets) -> AlertReceivers[pulumi.Input[str]]:
    # The loader has refused a receiver whose secret is missing.
    receivers = config.monitoring.receivers
    slack, email = receivers.slack, receivers.email
    return AlertReceivers(
        webhook_url=alerts.webhook_url if receivers.webhook else None,
        slack=SlackReceiver(channel=slack.channel, api_url=alerts.slack_webhook_url)
        if slack is not None and alerts.slack_webhook_url is not None
        else None,
        email=EmailReceiver(
            to=email.to,
            sender=email.sender,
            smarthost=email.smarthost,
            login=(email.username, alerts.smtp_password)
            if email.username and alerts.smtp_password is not None
            else None,
        )
        if email is not None
        else None,
    )


def monitoring(
    config: StackConfig,
    secrets: ClusterSecrets,
    alerts: AlertSecrets,
    cluster: EksCluster,
    spaces: Namespaces,
    trigger: RetrainTrigger,
    logs: tuple[LogStore, LogShipping],
) -> MonitoringArgs:
    settings, grafana = config.monitoring, config.monitoring.grafana
    store, shipping = logs
    return MonitoringArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.monitoring,
        serving_namespace=spaces.serving,
        training_namespace=spaces.training,
        retrain_webhook_url=trigger.url,
        retrain_webhook_token=secrets.retrain_webhook_token,
        grafana_admin_password=secrets.grafana_admin_password,
        receivers=_receivers(config, alerts),
        retention_days=settings.retention_days,
        storage_size=settings.storage_size,
        storage_class=settings.storage_class or GP3_STORAGE_CLASS,
        prometheus_replicas=settings.prometheus_replicas,
        alertmanager_replicas=settings.alertmanager_replicas,
        drift_minutes=settings.drift_minutes,
        grafana=GrafanaAccess(
            load_balancer=grafana.load_balancer,
            host=grafana.host,
            certificate_arn=grafana.certificate_arn,
            internet_facing=grafana.internet_facing,
        ),
        logs=GrafanaLogs(
            region=config.aws.region,
            log_group_name=store.container_log_group.name,
            log_group_arn=store.container_log_group.arn,
            reader_role_arn=shipping.reader_role_arn,
        ),
        vpc_cidr=config.network.cidr,
    )
