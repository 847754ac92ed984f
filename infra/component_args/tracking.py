"""Args of the MLflow tracking server and its database."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from infra.component_args.workloads import image_of, pod_resources
from infra.components.cluster import EksCluster
from infra.components.log_store import LogStore
from infra.components.model_store import ModelStore
from infra.components.network import Network
from infra.components.tracking import TrackingArgs, TrackingDatabase
from infra.config import StackConfig


def has_tracking(config: StackConfig) -> bool:
    """The loader has refused tracking without the cluster."""
    return config.tracking.enabled


def tracking(
    config: StackConfig,
    cluster: EksCluster,
    net: Network,
    stores: tuple[ModelStore, LogStore],
    after: Sequence[pulumi.Resource],
) -> TrackingArgs:
    settings, db = config.tracking, config.tracking.database
    store, logs = stores
    return TrackingArgs(
        k8s_provider=cluster.kubernetes_provider,
        oidc=cluster.oidc,
        vpc_id=net.vpc_id,
        vpc_cidr=config.network.cidr,
        subnet_ids=net.private_subnet_ids,
        cluster_security_group_id=cluster.security_group_id,
        key_arn=store.key_arn,
        bucket=store.bucket_name,
        bucket_arn=store.bucket_arn,
        region=config.aws.region,
        log_key_arn=logs.key_arn,
        log_retention_days=config.logs.retention_days,
        image=image_of(store, config.tracking_image_tag),
        replicas=settings.replicas,
        workers=settings.workers,
        resources=pod_resources(settings.resources),
        database=TrackingDatabase(
            instance_class=db.instance_class,
            storage_gib=db.storage_gib,
            engine_version=db.engine_version,
            multi_az=db.multi_az,
            deletion_protection=db.deletion_protection,
            backup_retention_days=db.backup_retention_days,
            skip_final_snapshot=db.skip_final_snapshot,
        ),
        after=after,
    )
