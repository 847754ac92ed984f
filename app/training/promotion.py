"""Promote a new version only if it beats the served one on the same held-out rows.

The champion is what the alias serves now, read from the bucket like a server reads it
(checksum verified). Both answer the held-out rows of the data the challenger was trained on;
the decision, both scores and an HTML report (confusion matrices, feature drift against the
champion's training data) are recorded on the challenger's run before anything moves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from app.dataset import Dataset
from app.errors import (
    ArtifactIntegrityError,
    InvalidModelError,
    InvalidRegistryEntryError,
    ModelNotFoundError,
)
from app.registry import AliasRecord, ModelMetadata
from app.tracking.connection import tracking_errors
from app.tracking.registry import TrackedModelRegistry
from app.tracking.runs import LoggedRun, log_evaluation
from app.training import report
from app.training.evaluation import Decision, PromotionPolicy, Scores, decide, score

log = logging.getLogger(__name__)

DECISION_TAG = "promotion_decision"


@dataclass(frozen=True)
class Champion:
    version: str
    artifact: bytes
    metadata: ModelMetadata


@dataclass(frozen=True)
class Served:
    """What the alias served when the decision was taken."""

    record: AliasRecord | None
    etag: str | None
    champion: Champion | None
    why_none: str
    """Why there is no champion to defend (nothing promoted, or it cannot be loaded)."""


# A champion that is missing or broken cannot be defended; anything else (S3 unreachable,
# access denied) stops the decision instead of promoting blind.
_NO_CHAMPION = (
    InvalidRegistryEntryError,
    ArtifactIntegrityError,
    ModelNotFoundError,
    InvalidModelError,
)


def challenge(
    registry: TrackedModelRegistry,
    run: LoggedRun,
    challenger: tuple[bytes, ModelMetadata],
    holdout: Dataset,
    alias: str,
    policy: PromotionPolicy,
) -> Decision:
    """Score champion and challenger on `holdout`, record it on `run`, promote if better;
    the promotion applies only if the alias still serves the champion it was decided against."""
    artifact, meta = challenger
    served = _served(registry, alias)
    champion = served.champion
    new = score(artifact, meta, holdout.features, holdout.labels, holdout.class_names)
    old, incomparable = _score_champion(champion, meta, holdout)
    if incomparable:
        decision = Decision(False, incomparable)
    elif champion is None:
        decision = Decision(True, f"no champion to defend ({served.why_none}): promoted")
    else:
        decision = decide(new, old, meta.primary_metric, policy)
    _record(registry, run, meta, champion, (new, old), decision, holdout)
    if decision.promote and policy.shadow and served.record is not None:
        # Better on the held-out rows; live traffic decides the rest (`models rollout`).
        registry.shadow_over(meta.version, alias, served.record, served.etag)
        decision = Decision(
            True,
            f"{decision.reason}; rolled out in shadow of version {served.record.version}: "
            "`python -m app models rollout` promotes it once it holds on live traffic",
            shadow=True,
        )
    elif decision.promote:
        # The comparison above replaces the metadata gate, which compares cross-validated
        # metrics measured on different data; checksum and graph are still verified.
        registry.promote_over(meta.version, alias, served.record, served.etag)
    mark_decided(registry, run, decision)
    log.info("promotion decided", extra={"promote": decision.promote, "reason": decision.reason})
    return decision


def mark_decided(registry: TrackedModelRegistry, run: LoggedRun, decision: Decision) -> None:
    """The run's final word, set once it holds: a retraining on the same data is skipped only
    after a run got this far."""
    with tracking_errors(registry.tracking_uri, f"tagging run {run.run_id}"):
        outcome = "promoted" if decision.promote else "kept_champion"
        registry.client.set_tag(
            run.run_id, DECISION_TAG, "shadow_rollout" if decision.shadow else outcome
        )


def _served(registry: TrackedModelRegistry, alias: str) -> Served:
    record, etag = registry.store.find_alias(alias)
    if record is None:
        return Served(None, None, None, "nothing is promoted yet")
    try:
        artifact, meta = registry.store.artifact(record.version)
    except _NO_CHAMPION as exc:
        log.warning("the champion cannot be loaded; it is not defended", extra={"error": str(exc)})
        return Served(record, etag, None, f"version {record.version} cannot be loaded: {exc}")
    return Served(record, etag, Champion(record.version, artifact, meta), "")


def _score_champion(
    champion: Champion | None, challenger: ModelMetadata, holdout: Dataset
) -> tuple[Scores | None, str]:
    """The champion's scores on the held-out rows, or why it cannot be compared: it must take
    features the data has, and the challenger must answer every class it answers."""
    if champion is None:
        return None, ""
    lost = sorted(set(champion.metadata.class_names) - set(challenger.class_names))
    if lost:
        return None, (
            f"the challenger cannot answer {lost}, which version {champion.version} can (the new "
            "data has no such rows); not promoted: promote it by hand with --force if intended"
        )
    names = list(holdout.feature_names)
    missing = [f for f in champion.metadata.feature_names if f not in names]
    if missing:
        return None, (
            f"version {champion.version} takes features {missing} the new data lacks: the two "
            "cannot be compared; not promoted: promote it by hand with --force if intended"
        )
    columns = [names.index(f) for f in champion.metadata.feature_names]
    features = holdout.features[:, columns]
    return score(
        champion.artifact, champion.metadata, features, holdout.labels, holdout.class_names
    ), ""


def _record(
    registry: TrackedModelRegistry,
    run: LoggedRun,
    meta: ModelMetadata,
    champion: Champion | None,
    scores: tuple[Scores, Scores | None],
    decision: Decision,
    holdout: Dataset,
) -> None:
    new, old = scores
    metric = meta.primary_metric
    metrics = {f"challenger_heldout_{metric}": new.metric(metric)}
    if old is not None:
        metrics[f"champion_heldout_{metric}"] = old.metric(metric)
    drift = (
        report.feature_drift(champion.metadata.reference, holdout.features, holdout.feature_names)
        if champion
        else {}
    )
    page = report.render(
        model_name=registry.model_name,
        challenger_version=meta.version,
        champion_version=champion.version if champion else None,
        class_names=holdout.class_names,
        challenger=new,
        champion=old,
        decision=decision,
        drift=drift,
        holdout_rows=len(holdout.labels),
    )
    summary = {
        "decision": asdict(decision),
        "challenger": {"version": meta.version, **asdict(new)},
        "champion": {"version": champion.version, **asdict(old)} if champion and old else None,
        "feature_drift": {name: {"psi": p, "ks": k} for name, (p, k) in drift.items()},
    }
    log_evaluation(
        registry.client,
        registry.tracking_uri,
        run.run_id,
        metrics,
        {
            "promotion_reason": decision.reason,
            "champion_version": champion.version if champion else "",
        },
        {"report.html": page, "scores.json": json.dumps(summary, indent=2)},
    )
