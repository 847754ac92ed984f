"""Shadow scoring: the rollout candidate answers every live request beside the served version,
its answer is compared and counted, and never returned.

The comparison is by class name (the two versions may order or name their classes
differently) on the rows as the served version's signature reads them, reordered to the
candidate's features by name. A candidate that cannot take those rows, or fails, counts as an
error: a rollout with errors is rolled back (app.rollout).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import numpy as np
from prometheus_client.metrics import MetricWrapperBase

from app import metrics

if TYPE_CHECKING:
    from app.serving.model import LoadedModel

log = logging.getLogger(__name__)

AGREE, DISAGREE = "agree", "disagree"


class ShadowScorer:
    """One candidate version scored in shadow of one served version."""

    def __init__(self, candidate: LoadedModel, served: LoadedModel) -> None:
        self.version = candidate.version
        self.served = served
        self._candidate = candidate
        self._served_classes = served.class_names
        served_features = served.meta.feature_names
        candidate_features = candidate.meta.feature_names
        self._columns: list[int] | None = None
        self.problem: str | None = None
        missing = [name for name in candidate_features if name not in served_features]
        if missing:
            self.problem = (
                f"shadow version {candidate.version} takes features {missing} that requests to "
                f"version {served.version} do not carry"
            )
        elif list(candidate_features) != list(served_features):
            self._columns = [served_features.index(name) for name in candidate_features]
        self._counters = {
            outcome: metrics.SHADOW_COMPARISONS.labels(
                model_version=candidate.version, served_version=served.version, outcome=outcome
            )
            for outcome in (AGREE, DISAGREE)
        }
        self._requests = metrics.SHADOW_REQUESTS.labels(
            model_version=candidate.version, served_version=served.version
        )
        self._errors = metrics.SHADOW_ERRORS.labels(
            model_version=candidate.version, stage="predict"
        )

    async def compare(self, rows: np.ndarray, served_choice: np.ndarray) -> None:
        """Score `rows` (as the served version took them) and count agreement with
        `served_choice` (its class indices). Never raises: a failure is counted and logged."""
        if self.problem is not None:
            self._errors.inc(len(rows))
            return
        try:
            x = rows if self._columns is None else rows[:, self._columns]
            chosen = (await self._candidate.infer(x)).argmax(axis=1)
        except Exception as exc:  # the candidate's defect must never reach the client
            self._errors.inc(len(rows))
            log.warning(
                "shadow version failed to score a request",
                extra={"model_version": self.version, "error": f"{type(exc).__name__}: {exc}"},
            )
            return
        names = self._candidate.class_names
        agreed = sum(
            names[int(mine)] == self._served_classes[int(theirs)]
            for mine, theirs in zip(chosen, served_choice, strict=True)
        )
        self._requests.inc()
        if agreed:
            self._counters[AGREE].inc(agreed)
        if agreed < len(rows):
            self._counters[DISAGREE].inc(len(rows) - agreed)


def retire(version: str, served_version: str | None) -> None:
    """Drop the series of a rollout that ended: a later rollout of the same version on this
    server must start from nothing (old failures would end it at once), and series of
    versions long gone would otherwise stay forever."""
    removals: list[tuple[MetricWrapperBase, tuple[str, ...]]] = [
        (metrics.SHADOW_ERRORS, (version, stage)) for stage in ("load", "predict")
    ]
    if served_version is not None:
        removals += [
            (metrics.SHADOW_COMPARISONS, (version, served_version, outcome))
            for outcome in (AGREE, DISAGREE)
        ]
        removals.append((metrics.SHADOW_REQUESTS, (version, served_version)))
    for metric, labels in removals:
        with contextlib.suppress(KeyError):
            metric.remove(*labels)
