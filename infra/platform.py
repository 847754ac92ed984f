"""The platform, read top to bottom like its architecture diagram.

Config is validated first; only then are components declared, each with explicit
providers, so a bad stack file declares nothing at all.
"""

from __future__ import annotations

import pulumi

from infra.components.cluster_platform import declare_cluster_platform
from infra.components.log_store import LogStore, LogStoreArgs
from infra.components.model_store import ModelStore, ModelStoreArgs
from infra.components.monitoring import GrafanaLogs, Monitoring, monitoring_args
from infra.components.network import Network, NetworkArgs
from infra.components.workloads import WorkloadInputs, declare_workloads
from infra.config import load_stack_config
from infra.providers import aws_provider


def declare_platform() -> None:
    config, _secrets = load_stack_config()
    aws = aws_provider(config)
    on_aws = pulumi.ResourceOptions(providers=[aws])
    prefix = f"mlops-{config.environment}"

    net = config.network
    # One KMS key for every log group of the stack; the container group the shipper fills.
    log_store = (
        LogStore(
            prefix,
            LogStoreArgs(
                region=config.aws.region,
                retention_days=config.logs.retention_days,
                key_deletion_days=config.model_store.key_deletion_days,
            ),
            on_aws,
        )
        if config.cluster.enabled or net.flow_logs
        else None
    )
    network = Network(
        prefix,
        NetworkArgs(
            cidr=net.cidr,
            az_count=net.az_count,
            nat_gateways=net.nat_gateways,
            nat_instance_type=net.nat_instance_type,
            region=config.aws.region,
            flow_logs=net.flow_logs,
            flow_log_retention_days=net.flow_log_retention_days,
            log_key_arn=log_store.key_arn if log_store else None,
        ),
        on_aws,
    )
    models = config.model_store
    store = ModelStore(
        prefix,
        ModelStoreArgs(
            noncurrent_days=models.noncurrent_days,
            protect=models.protect,
            force_destroy=models.force_destroy,
            access_logging=models.access_logging,
            image_repository=models.image_repository,
            image_retention_count=models.image_retention_count,
            key_deletion_days=models.key_deletion_days,
        ),
        on_aws,
    )
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("publicSubnetIds", network.public_subnet_ids)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("modelBucketName", store.bucket_name)
    pulumi.export("modelBucketArn", store.bucket_arn)
    pulumi.export("modelKeyArn", store.key_arn)
    if store.repository_url is not None:
        pulumi.export("ecrRepositoryUrl", store.repository_url)
    if log_store is not None:
        pulumi.export("logKeyArn", log_store.key_arn)

    # EKS and everything on it; absent on the local stack (no EKS on LocalStack community).
    # Components that run on the cluster use `cluster.kubernetes_provider` and `roles`.
    platform = (
        declare_cluster_platform(prefix, config, network, store, log_store, on_aws)
        if config.cluster.enabled and log_store is not None
        else None
    )
    if platform is not None:
        cluster, roles = platform.cluster, platform.roles
        pulumi.export("clusterName", cluster.name)
        pulumi.export("clusterEndpoint", cluster.endpoint)
        pulumi.export("kubeconfig", cluster.kubeconfig)
        pulumi.export("servingRoleArn", roles.serving.role_arn)
        pulumi.export("trainingRoleArn", roles.training.role_arn)
        pulumi.export("gpuNodePoolName", platform.capacity.gpu_pool_name)
        pulumi.export("containerLogGroup", platform.log_store.container_log_group.name)
        # What the serving pods load; the deploy job seeds a first model under these names.
        pulumi.export("modelName", config.app.model_name)
        pulumi.export("modelAlias", config.app.model_alias)
        workloads = declare_workloads(
            prefix,
            config,
            _secrets,
            WorkloadInputs(
                k8s_provider=cluster.kubernetes_provider,
                repository_url=store.repository_url,
                bucket=store.bucket_name,
                serving_role_arn=roles.serving.role_arn,
                training_role_arn=roles.training.role_arn,
                depends_on=[platform.capacity, platform.addons],
            ),
        )
        if config.monitoring.enabled:
            Monitoring(
                prefix,
                monitoring_args(
                    config.monitoring,
                    _secrets,
                    k8s_provider=cluster.kubernetes_provider,
                    namespace=workloads.namespaces.monitoring,
                    serving_namespace=workloads.namespaces.serving,
                    training_namespace=workloads.namespaces.training,
                    retrain_webhook_url=workloads.trigger.url,
                    vpc_cidr=config.network.cidr,
                    logs=GrafanaLogs(
                        region=config.aws.region,
                        log_group_name=platform.log_store.container_log_group.name,
                        log_group_arn=platform.log_store.container_log_group.arn,
                        reader_role_arn=platform.logs.reader_role_arn,
                    ),
                ),
                # Prometheus' volumes need the EBS CSI driver and the gp3 class; the charts need
                # nodes and cluster DNS: all of it comes with the node pools and add-ons.
                pulumi.ResourceOptions(depends_on=[platform.capacity, platform.addons]),
            )

    pulumi.export("environment", config.environment)
    pulumi.export("region", config.aws.region)
    pulumi.export("awsProviderUrn", aws.urn)
