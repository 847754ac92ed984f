"""`python -m app models rollout`: judge the alias's shadow rollout once (app.rollout)."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime

from app.errors import ConfigError
from app.rollout import (
    EvidenceSource,
    PrometheusEvidence,
    RolloutPolicy,
    RolloutRegistry,
    ScrapedEvidence,
    Verdict,
    step,
)
from app.settings import Settings

log = logging.getLogger(__name__)


def policy_from(settings: Settings) -> RolloutPolicy:
    return RolloutPolicy(
        hold_seconds=settings.rollout_hold_seconds,
        min_agreement=settings.rollout_min_agreement,
        min_comparisons=settings.rollout_min_comparisons,
        timeout_seconds=settings.rollout_timeout_seconds,
    )


def evidence_source(metrics_urls: list[str] | None, settings: Settings) -> EvidenceSource:
    """Prometheus when configured (every replica); else the servers' own `/metrics`."""
    if metrics_urls:
        return ScrapedEvidence(metrics_urls)
    if settings.prometheus_url:
        return PrometheusEvidence(settings.prometheus_url)
    raise ConfigError(
        "models rollout needs the live comparisons: set MLOPS_PROMETHEUS_URL (on the "
        "cluster) or pass --metrics-url http://HOST:PORT/metrics for each model server"
    )


def registry_for_rollout(settings: Settings) -> RolloutRegistry:
    """The tracked registry when a tracking server is configured and its client installed
    (MLflow's alias then follows every decision); the bucket's store otherwise, which is all
    the servers read. The serving image, which runs the decision on the cluster, carries no
    tracking client: there MLflow's alias catches up at the next promote or rollback."""
    from app.aws import s3_client
    from app.registry import S3ModelRegistry

    store = S3ModelRegistry(s3_client(settings), settings.require_bucket(), settings.model_name)
    if not settings.tracking_uri:
        return store
    try:
        from app.tracking.connection import connect
        from app.tracking.registry import TrackedModelRegistry
    except ImportError:
        log.info("no tracking client in this image; deciding on the bucket's alias only")
        return store
    uri = settings.tracking_uri
    return TrackedModelRegistry(connect(uri), uri, settings.model_name, store)


def run(args: argparse.Namespace, settings: Settings) -> Verdict:
    alias = getattr(args, "alias", None) or settings.model_alias
    source = evidence_source(args.metrics_url, settings)
    return step(
        registry_for_rollout(settings),
        settings.model_name,
        alias,
        policy_from(settings),
        source,
        datetime.now(UTC),
    )
