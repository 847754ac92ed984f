"""Args of what every stack has: the log store, the network and the model store."""

from __future__ import annotations

import math

from app.trigger.settings import TriggerSettings
from infra.components.dataset_events import VISIBILITY_TIMEOUT_SECONDS
from infra.components.log_store import LogStore, LogStoreArgs
from infra.components.model_store import ModelStoreArgs
from infra.components.network import NetworkArgs
from infra.config import StackConfig
from infra.config.network import plan_subnets


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
        capture_retention_days=models.capture_retention_days,
        dataset_event_max_receives=dataset_event_max_receives(config),
        dataset_prefixes={model.name: model.dataset for model in config.app.models},
    )


def dataset_event_max_receives(config: StackConfig) -> int:
    """Receives a dataset notification survives: the trigger leaves it undeleted while a
    training runs (and for the launcher's de-duplication window after one started), and it
    comes back every visibility timeout, so it must outlast the longest training (with the
    pipeline on Argo Workflows, one running and one waiting) plus that window, with two
    receives to spare for a restarting trigger."""
    window = TriggerSettings.model_fields["dedupe_window_seconds"].default
    longest = config.app.training.active_deadline_seconds
    if config.workflows.enabled and config.cluster.enabled and config.tracking.enabled:
        # A pipeline run may wait on the template's mutex for the one before it to end.
        longest = 2 * max(longest, config.workflows.active_deadline_seconds)
    deferred = longest + int(window)
    # SQS allows 1 to 1000 (83 hours at five minutes a receive).
    return min(math.ceil(deferred / VISIBILITY_TIMEOUT_SECONDS) + 2, 1000)
