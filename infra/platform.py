"""The platform, read top to bottom like its architecture diagram.

Config is validated first, secrets and every rule included; only then are components declared,
each as `Component(name, component_args.<component>(config, ...), opts)` with explicit
providers, so a bad stack file declares nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra import component_args as args
from infra.components.addons import ClusterAddons
from infra.components.capacity import Capacity
from infra.components.cluster import EksCluster
from infra.components.iam import ServiceAccountRole
from infra.components.log_shipping import LogShipping
from infra.components.log_store import LogStore
from infra.components.model_store import ModelStore
from infra.components.monitoring import Monitoring
from infra.components.network import Network
from infra.components.tracking import Tracking
from infra.components.workflows import Workflows
from infra.components.workloads import Namespaces, RetrainTrigger, Serving, Training
from infra.config import StackConfig, StackSecrets, load_stack_config
from infra.providers import aws_provider


@dataclass(frozen=True)
class _Stack:
    """What the cluster and everything on it are declared from."""

    name: str
    config: StackConfig
    on_aws: pulumi.ResourceOptions
    network: Network
    store: ModelStore
    log_store: LogStore


@dataclass(frozen=True)
class _Cluster:
    """The cluster and what its workloads need from it."""

    cluster: EksCluster
    nodes: list[pulumi.Resource]
    """Node pools and add-ons: Deployments, volumes and charts need both first."""
    serving_role: ServiceAccountRole
    training_role: ServiceAccountRole
    trigger_role: ServiceAccountRole
    logs: LogShipping


def declare_platform() -> None:
    config, secrets = load_stack_config()
    aws = aws_provider(config)
    on_aws = pulumi.ResourceOptions(providers=[aws])
    name = args.stack_name(config)

    # One KMS key for every log group of the stack; the container group the shipper fills.
    log_store = (
        LogStore(name, args.log_store(config), on_aws) if args.has_log_store(config) else None
    )
    network = Network(name, args.network(config, log_store), on_aws)
    store = ModelStore(name, args.model_store(config), on_aws)
    _export_storage(network, store, log_store)

    # EKS and everything on it; absent on the local stack (no EKS on LocalStack community).
    if config.cluster.enabled and log_store is not None:
        stack = _Stack(name, config, on_aws, network, store, log_store)
        _declare_workloads(stack, _declare_cluster(stack), secrets)

    pulumi.export("environment", config.environment)
    pulumi.export("region", config.aws.region)
    pulumi.export("awsProviderUrn", aws.urn)


def _declare_cluster(stack: _Stack) -> _Cluster:
    name, config, on_aws = stack.name, stack.config, stack.on_aws
    cluster = EksCluster(name, args.eks_cluster(config, stack.network, stack.log_store), on_aws)
    capacity = Capacity(name, args.capacity(config, cluster, stack.network), on_aws)
    addons = ClusterAddons(name, args.cluster_addons(config, cluster, capacity), on_aws)
    serving_role = ServiceAccountRole(
        f"{name}-serving", args.serving_role(cluster, stack.store), on_aws
    )
    training_role = ServiceAccountRole(
        f"{name}-training", args.training_role(cluster, stack.store), on_aws
    )
    trigger_role = ServiceAccountRole(
        f"{name}-retrain-trigger", args.retrain_trigger_role(cluster, stack.store), on_aws
    )
    nodes: list[pulumi.Resource] = [capacity, addons]
    logs = LogShipping(name, args.log_shipping(config, cluster, stack.log_store, nodes), on_aws)

    pulumi.export("clusterName", cluster.name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("servingRoleArn", serving_role.role_arn)
    pulumi.export("trainingRoleArn", training_role.role_arn)
    pulumi.export("gpuNodePoolName", capacity.gpu_pool_name)
    pulumi.export("containerLogGroup", stack.log_store.container_log_group.name)
    # What the serving pods load: every model (the deploy job seeds each one's first
    # training from it), and the first listed alone, as modelName/modelAlias, for people and
    # one-model scripts.
    first = config.app.models[0]
    pulumi.export(
        "models",
        [
            {
                "name": m.name,
                "alias": m.alias,
                "datasetPrefix": m.dataset,
                "packagedDataset": m.packaged_dataset or "",
            }
            for m in config.app.models
        ],
    )
    pulumi.export("modelName", first.name)
    pulumi.export("modelAlias", first.alias)
    return _Cluster(cluster, nodes, serving_role, training_role, trigger_role, logs)


def _declare_workloads(stack: _Stack, on: _Cluster, secrets: StackSecrets) -> None:
    name, config, store, cluster = stack.name, stack.config, stack.store, on.cluster
    if secrets.cluster is None:
        raise TypeError("the loader demands the cluster's secrets whenever it is enabled")
    # Deployments become ready only once there are nodes; Prometheus' volumes need the EBS CSI
    # driver and the gp3 class; the charts need nodes and cluster DNS.
    after_nodes = pulumi.ResourceOptions(depends_on=on.nodes)
    spaces = Namespaces(name, args.namespaces(cluster), after_nodes)
    # The database does not wait for the nodes (RDS takes minutes); its pods do.
    tracking = (
        Tracking(
            f"{name}-tracking",
            args.tracking(config, cluster, stack.network, (store, stack.log_store), on.nodes),
            stack.on_aws,
        )
        if args.has_tracking(config)
        else None
    )
    training_args = args.training(
        config, cluster, spaces, store, on.training_role.role_arn, tracking
    )
    training = Training(f"{name}-training", training_args, after_nodes)
    Serving(
        f"{name}-serving",
        args.serving(config, secrets.cluster, cluster, spaces, store, on.serving_role.role_arn),
        after_nodes,
    )
    trigger = RetrainTrigger(
        f"{name}-retrain-trigger",
        args.retrain_trigger(
            config, secrets.cluster, cluster, spaces, store, training, on.trigger_role.role_arn
        ),
        after_nodes,
    )
    monitoring = None
    if config.monitoring.enabled:
        monitoring = Monitoring(
            name,
            args.monitoring(
                config,
                secrets.cluster,
                secrets.alerts,
                cluster,
                spaces,
                trigger,
                (stack.log_store, on.logs),
                tracking,
            ),
            after_nodes,
        )
    # The pipeline's pods are training pods: the same args, and the trainer account first.
    if args.has_workflows(config):
        Workflows(
            f"{name}-workflows",
            args.workflows(config, cluster, spaces, training_args, monitoring),
            pulumi.ResourceOptions(depends_on=[*on.nodes, training]),
        )
    if tracking is not None:
        pulumi.export("trackingNamespace", tracking.namespace)
        pulumi.export("trackingDatabaseAddress", tracking.db_address)
        pulumi.export("trackingDatabaseSecretArn", tracking.db_secret_arn)
        pulumi.export("trackingRoleArn", tracking.role_arn)


def _export_storage(network: Network, store: ModelStore, log_store: LogStore | None) -> None:
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("publicSubnetIds", network.public_subnet_ids)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("modelBucketName", store.bucket_name)
    pulumi.export("modelBucketArn", store.bucket_arn)
    pulumi.export("modelKeyArn", store.key_arn)
    pulumi.export("datasetQueueUrls", store.dataset_queue_urls)
    pulumi.export("datasetDeadLetterQueueUrls", store.dataset_dead_letter_queue_urls)
    # The first model's, under the names `make up` and earlier tooling read.
    first = next(iter(store.dataset_queue_urls))
    pulumi.export("datasetQueueUrl", store.dataset_queue_urls[first])
    pulumi.export("datasetDeadLetterQueueUrl", store.dataset_dead_letter_queue_urls[first])
    if store.repository_url is not None:
        pulumi.export("ecrRepositoryUrl", store.repository_url)
    if log_store is not None:
        pulumi.export("logKeyArn", log_store.key_arn)
