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
from app.errors import AppError
from app.registry import ModelMetadata
from app.tracking.registry import TrackedModelRegistry
from app.tracking.runs import LoggedRun, log_evaluation
from app.training import report
from app.training.evaluation import Decision, PromotionPolicy, Scores, decide, score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Champion:
    version: str
    artifact: bytes
    metadata: ModelMetadata


def challenge(
    registry: TrackedModelRegistry,
    run: LoggedRun,
    challenger: tuple[bytes, ModelMetadata],
    holdout: Dataset,
    alias: str,
    policy: PromotionPolicy,
) -> Decision:
    """Score champion and challenger on `holdout`, record it on `run`, promote if better."""
    artifact, meta = challenger
    champion = _champion(registry, alias)
    new = score(artifact, meta, holdout.features, holdout.labels, holdout.class_names)
    old = (
        score(
            champion.artifact,
            champion.metadata,
            holdout.features,
            holdout.labels,
            holdout.class_names,
        )
        if champion
        else None
    )
    decision = decide(new, old, meta.primary_metric, policy)
    _record(registry, run, meta, champion, (new, old), decision, holdout)
    if decision.promote:
        # The comparison above replaces the metadata gate, which compares cross-validated
        # metrics measured on different data; checksum and graph are still verified.
        registry.promote(meta.version, alias, force=True)
    log.info("promotion decided", extra={"promote": decision.promote, "reason": decision.reason})
    return decision


def _champion(registry: TrackedModelRegistry, alias: str) -> Champion | None:
    """What the alias serves now; None when nothing is promoted yet or it cannot be loaded
    (a model no server can load is no champion to defend)."""
    record, _ = registry.store.find_alias(alias)
    if record is None:
        return None
    try:
        artifact, meta = registry.store.artifact(record.version)
    except AppError as exc:
        log.warning("the champion cannot be loaded; it is not defended", extra={"error": str(exc)})
        return None
    return Champion(record.version, artifact, meta)


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
            "promotion_decision": "promote" if decision.promote else "keep_champion",
            "promotion_reason": decision.reason,
            "champion_version": champion.version if champion else "",
        },
        {"report.html": page, "scores.json": json.dumps(summary, indent=2)},
    )
