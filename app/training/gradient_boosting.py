"""The gradient_boosting family: scikit-learn's gradient-boosted trees, exported with skl2onnx.

Same cross-validation, selection rule and metrics as the MLP (`app.training.candidates`);
a candidate `HIDDEN:LR` is read as max leaf nodes per tree : shrinkage, and the epochs as
boosting stages. The exported graph takes float32 rows in `input` and answers class
probabilities in `probabilities` (no ZipMap, so a plain (rows, classes) tensor): the metadata
says so in its signature, and the server scores it with no code of its own.

Why `GradientBoostingClassifier` and not `HistGradientBoostingClassifier`: skl2onnx converts
both to a TreeEnsembleClassifier that matches `predict_proba` within 1e-6 on Iris and Wine
(measured: at most 4e-7 on every row, and on rows scaled by up to 10 %). What decides is the
rest: it splits on the exact float32 values (no binning into at most 255 bins), runs in one
thread (candidates already run in parallel processes; the histogram version starts OpenMP
threads in each) and is deterministic for a seed. Its cost grows with rows times stages, so
beyond some 10,000 rows the histogram version would be the faster choice.

Trees do not use a GPU: the device is always "cpu", and torchrun does not apply.
"""

# scikit-learn and skl2onnx ship no type information: their calls stay unchecked here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportMissingTypeStubs=false, reportAttributeAccessIssue=false

from __future__ import annotations

import time

import numpy as np
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier

from app.dataset import Dataset
from app.registry import ModelSignature
from app.training.candidates import (
    Candidate,
    CandidateScore,
    TrainConfig,
    TrainResult,
    best_score,
    samples_trained,
    selection_metrics,
    stratified_folds,
)

INPUT_TENSOR = "input"
OUTPUT_TENSOR = "probabilities"
"""skl2onnx's name for the class probabilities of a classifier."""
SIGNATURE = ModelSignature(
    family="gradient_boosting",
    input_tensor=INPUT_TENSOR,
    output_tensor=OUTPUT_TENSOR,
    output_kind="probabilities",
)

SUBSAMPLE = 0.8
"""Share of the rows each tree sees (stochastic gradient boosting, seeded). With every row
in every tree, the trees fit Iris and Wine exactly within a few dozen stages and the
probabilities turn overconfident: held-out log loss 0.45 instead of 0.05 on Wine."""
MIN_SAMPLES_LEAF = 3
"""Least rows in a leaf: no leaf answers for one or two rows alone."""
# ONNX opsets the locked onnxruntime runs; skl2onnx would otherwise pick its newest.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
# Probabilities below this are read as this: one confidently wrong row would otherwise make
# the log loss infinite, and non-finite metrics are refused at registration.
_SMALLEST_PROBABILITY = 1e-15


def build_classifier(candidate: Candidate, stages: int, seed: int) -> GradientBoostingClassifier:
    return GradientBoostingClassifier(
        n_estimators=stages,
        max_leaf_nodes=candidate.hidden,
        learning_rate=candidate.learning_rate,
        subsample=SUBSAMPLE,
        min_samples_leaf=MIN_SAMPLES_LEAF,
        random_state=seed,
    )


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean cross-entropy of the true classes, as the MLP's `cross_entropy` reports it."""
    chosen = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(chosen, _SMALLEST_PROBABILITY, 1.0)).mean())


def _fit(
    candidate: Candidate, config: TrainConfig, x: np.ndarray, y: np.ndarray
) -> tuple[GradientBoostingClassifier, list[float]]:
    """The fitted trees and the loss on all of their training rows after each stage."""
    model = build_classifier(candidate, config.epochs, config.seed).fit(x, y)
    # train_score_ would be the loss on each stage's subsample only.
    history = [log_loss(y, stage) for stage in model.staged_predict_proba(x)]
    return model, history


def _cross_validate(
    candidate: Candidate, config: TrainConfig, data: Dataset, folds: list[np.ndarray]
) -> CandidateScore:
    """Mean held-out accuracy and loss over the folds, weighted by fold size."""
    x, y = data.features, data.labels
    correct, loss_sum = 0.0, 0.0
    history = np.zeros(config.epochs)
    for fold in folds:
        held_out = np.zeros(len(y), dtype=bool)
        held_out[fold] = True
        model, losses = _fit(candidate, config, x[~held_out], y[~held_out])
        probabilities = model.predict_proba(x[held_out])
        correct += float((probabilities.argmax(axis=1) == y[held_out]).sum())
        loss_sum += log_loss(y[held_out], probabilities) * len(fold)
        history += np.asarray(losses) * (len(y) - len(fold))
    return CandidateScore(
        family="gradient_boosting",
        candidate=candidate,
        holdout_accuracy=correct / len(y),
        holdout_loss=loss_sum / len(y),
        loss_history=[float(value) for value in history / (len(y) * (len(folds) - 1))],
    )


def train_candidates(data: Dataset, config: TrainConfig) -> TrainResult:
    """Cross-validate every candidate, then fit the best (accuracy, then loss) on all rows."""
    folds = stratified_folds(data.labels, config.folds, config.seed)
    start = time.perf_counter()
    scores = [_cross_validate(c, config, data, folds) for c in config.grid]
    best = best_score(scores)
    model, losses = _fit(best.candidate, config, data.features, data.labels)
    duration = time.perf_counter() - start
    rows = len(data.labels)
    samples = samples_trained(rows, config)
    return TrainResult(
        family="gradient_boosting",
        model=model,
        candidate=best.candidate,
        metrics=selection_metrics(best, losses[-1], rows, config.folds),
        scores=scores,
        loss_history=losses,
        samples_per_second=samples / duration if duration > 0 else 0.0,
        duration_seconds=duration,
        device="cpu",
        world_size=1,
    )


def export_onnx(model: GradientBoostingClassifier, features: int) -> bytes:
    """ONNX bytes: input `input` float32 (N, features), output `probabilities` (N, classes),
    as `SIGNATURE` declares. Exported into memory, like the MLP."""
    graph = to_onnx(
        model,
        # skl2onnx's annotation says shapes; its code (and documentation) take typed tensors.
        initial_types=[(INPUT_TENSOR, FloatTensorType([None, features]))],  # pyright: ignore[reportArgumentType]
        # ZipMap would turn the probabilities into a list of {class: probability} maps,
        # which is neither a tensor nor what the signature promises.
        options={GradientBoostingClassifier: {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    return graph.SerializeToString()
