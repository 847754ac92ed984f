"""Champion against challenger on the same rows: scores, the promotion decision, and why.

Cross-validated accuracy from different trainings is measured on different data, so it cannot
decide between two models: a retrain on unchanged data ties (and a tie used to be promoted),
and a model trained on shifted data was refused because the old model had scored well on the
old data. Here both models answer the same held-out rows of the newest dataset through
onnxruntime (what serving runs), and the challenger is promoted only when it beats the
champion by a margin on the primary metric and loses no class's F1 beyond a tolerance.
"""

# onnxruntime ships no type information.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

import numpy as np

from app import model_checks
from app.dataset import Dataset
from app.errors import DatasetError
from app.registry import ModelMetadata


def split_holdout(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """(training rows, held-out rows). A row is held out when a hash of its content and the
    seed falls under `fraction`: the same row is held out in every version of the dataset, so
    a model trained on an earlier version never saw the rows it is scored on now (a split
    drawn by position would move rows between the sides as data is added)."""
    salt = seed.to_bytes(8, "little", signed=True)
    labels = cast(list[int], data.labels.tolist())
    held = np.fromiter(
        (
            _unit_hash(salt + data.features[i].tobytes() + data.class_names[label].encode())
            < fraction
            for i, label in enumerate(labels)
        ),
        dtype=bool,
        count=len(labels),
    )
    for cls, name in enumerate(data.class_names):
        if not (~held & (data.labels == cls)).any():
            raise DatasetError(
                f"class {name!r} has {int((data.labels == cls).sum())} rows, all held out: "
                "too few to train on; add rows or set MLOPS_HOLDOUT_FRACTION lower (0: none; "
                "promotion then compares cross-validated metrics)"
            )
    if not held.any():
        raise DatasetError(
            f"no row was held out of {len(data.labels)} with MLOPS_HOLDOUT_FRACTION={fraction:g}; "
            "add rows or raise it"
        )
    return data.subset(np.flatnonzero(~held)), data.subset(np.flatnonzero(held))


def _unit_hash(content: bytes) -> float:
    """A number in [0, 1) that depends on `content` only."""
    return int.from_bytes(hashlib.blake2b(content, digest_size=8).digest(), "little") / 2**64


@dataclass(frozen=True)
class Scores:
    """One model on one set of rows."""

    accuracy: float
    recall: dict[str, float]
    """Per class: the share of its rows the model labelled correctly."""
    precision: dict[str, float]
    f1: dict[str, float]
    """Per class: the harmonic mean of its precision and recall (the guard metric: a model
    that labels every row with one class has that class's recall at 1, not its F1)."""
    confusion: list[list[int]]
    """confusion[true][predicted], classes in the dataset's order."""

    def metric(self, name: str) -> float:
        if name != "accuracy":
            raise ValueError(f"primary metric {name!r} is not computed; use accuracy")
        return self.accuracy


@dataclass(frozen=True)
class PromotionPolicy:
    margin: float
    """How much higher the challenger's primary metric must be (0.01 = one point)."""
    f1_tolerance: float
    """How much lower any class's F1 may be than the champion's."""
    shadow: bool = False
    """A better challenger starts a shadow rollout instead of taking the alias at once (a
    first version, with no champion, is promoted directly)."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    shadow: bool = False
    """Promoted into a shadow rollout, not onto the alias yet."""


def score(
    artifact: bytes,
    meta: ModelMetadata,
    features: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...],
) -> Scores:
    """Scores of the model on rows whose labels index `class_names` (the dataset's classes).

    A model that does not know a class of the dataset gets that class's rows wrong; classes
    it knows but the dataset lacks are ignored.
    """
    session = model_checks.open_session(
        artifact, meta, f"{meta.model_name} version {meta.version}", "it cannot be evaluated"
    )
    probabilities = session.class_probabilities(features.astype(np.float32))
    chosen = cast(list[int], probabilities.argmax(axis=1).tolist())
    predicted_names = [meta.class_names[i] for i in chosen]
    index = {name: i for i, name in enumerate(class_names)}
    # A prediction outside the dataset's classes counts as wrong for every class: -1.
    predicted = np.asarray([index.get(name, -1) for name in predicted_names], dtype=np.int64)
    return scores_of(labels, predicted, class_names)


def scores_of(labels: np.ndarray, predicted: np.ndarray, class_names: tuple[str, ...]) -> Scores:
    """Scores of predicted class indices (-1: a class the dataset does not have)."""
    size = len(class_names)
    confusion = np.zeros((size, size), dtype=np.int64)
    for true, guess in zip(labels.tolist(), predicted.tolist(), strict=True):
        if guess >= 0:
            confusion[true, guess] += 1
    totals = np.bincount(labels, minlength=size)
    chosen = confusion.sum(axis=0)
    recall = {
        name: float(confusion[i, i] / totals[i]) if totals[i] else 0.0
        for i, name in enumerate(class_names)
    }
    precision = {
        name: float(confusion[i, i] / chosen[i]) if chosen[i] else 0.0
        for i, name in enumerate(class_names)
    }
    f1 = {
        name: 2 * precision[name] * recall[name] / (precision[name] + recall[name])
        if precision[name] + recall[name]
        else 0.0
        for name in class_names
    }
    accuracy = float(np.trace(confusion) / len(labels)) if len(labels) else 0.0
    return Scores(accuracy, recall, precision, f1, confusion.tolist())


def decide(
    challenger: Scores, champion: Scores | None, metric: str, policy: PromotionPolicy
) -> Decision:
    """Promote the challenger only if it is better by the margin and no class regresses."""
    if champion is None:
        return Decision(True, "no champion: the first version is promoted")
    new, old = challenger.metric(metric), champion.metric(metric)
    if new < old + policy.margin:
        return Decision(
            False,
            f"challenger {metric}={new:.4f} does not beat the champion's {old:.4f} by the "
            f"margin {policy.margin:g} on the same held-out rows",
        )
    regressed = {
        name: (challenger.f1.get(name, 0.0), f1)
        for name, f1 in champion.f1.items()
        if challenger.f1.get(name, 0.0) < f1 - policy.f1_tolerance
    }
    if regressed:
        listed = ", ".join(
            f"{name} {new:.3f} < {old:.3f}" for name, (new, old) in regressed.items()
        )
        return Decision(
            False,
            f"challenger {metric}={new:.4f} beats the champion's {old:.4f}, but F1 falls "
            f"beyond the tolerance {policy.f1_tolerance:g} for: {listed}",
        )
    return Decision(
        True,
        f"challenger {metric}={new:.4f} beats the champion's {old:.4f} by at least "
        f"{policy.margin:g} on the same held-out rows, no class's F1 regressed",
    )
