"""What every model family shares: a candidate, the training config, the folds, the result.

A candidate is the pair `HIDDEN:LR` the CLI (`--grid`, `pipeline candidate --candidate`) and
the workflow's per-candidate parameter take, whatever the family; each family reads it as
its own two hyper-parameters, and `--epochs` as its own length of training:

| family              | HIDDEN                    | LR             | epochs                     |
|---------------------|---------------------------|----------------|----------------------------|
| `mlp`               | hidden units per layer    | Adam's step    | full-batch epochs          |
| `gradient_boosting` | max leaf nodes per tree   | shrinkage      | boosting stages (trees)    |

So `train`, `retrain`, `pipeline candidate` and the workflow keep one interface, and
MLOPS_MODEL_FAMILY alone says which model they fit.

Nothing here imports PyTorch or scikit-learn: each family's module imports its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.dataset import Dataset
from app.errors import ConfigError

Family = Literal["mlp", "gradient_boosting"]
"""What training fits (MLOPS_MODEL_FAMILY)."""


@dataclass(frozen=True)
class Candidate:
    hidden: int
    """Hidden units (mlp) or max leaf nodes per tree (gradient_boosting)."""
    learning_rate: float
    """Adam's learning rate (mlp) or the boosting shrinkage (gradient_boosting)."""


MLP_GRID = (
    Candidate(hidden=16, learning_rate=0.01),
    Candidate(hidden=32, learning_rate=0.01),
    Candidate(hidden=32, learning_rate=0.003),
)
# Small trees and a small shrinkage over the default 300 stages: with 0.1 and 300 stages the
# trees fit the training rows exactly and the held-out log loss of Iris and Wine was 5 to 10
# times that of these (accuracy within a row or two).
GRADIENT_BOOSTING_GRID = (
    Candidate(hidden=4, learning_rate=0.05),
    Candidate(hidden=8, learning_rate=0.05),
    Candidate(hidden=8, learning_rate=0.02),
)
DEFAULT_GRIDS: dict[Family, tuple[Candidate, ...]] = {
    "mlp": MLP_GRID,
    "gradient_boosting": GRADIENT_BOOSTING_GRID,
}


def candidate_params(family: Family, candidate: Candidate) -> dict[str, float]:
    """The candidate under its family's names, as runs and metadata record it."""
    if family == "gradient_boosting":
        return {"max_leaf_nodes": candidate.hidden, "learning_rate": candidate.learning_rate}
    return {"hidden": candidate.hidden, "learning_rate": candidate.learning_rate}


def candidate_label(family: Family, candidate: Candidate) -> str:
    """A run name for the candidate: `h16-lr0.01` (mlp), `leaves8-lr0.05` (trees)."""
    prefix = "leaves" if family == "gradient_boosting" else "h"
    return f"{prefix}{candidate.hidden}-lr{candidate.learning_rate:g}"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 300
    """Full-batch epochs (mlp) or boosting stages (gradient_boosting) per candidate."""
    grid: tuple[Candidate, ...] = ()
    """The candidates; empty: the family's default grid (`DEFAULT_GRIDS`)."""
    seed: int = 0
    folds: int = 5
    """Stratified cross-validation folds (each class needs at least this many rows)."""
    family: Family = "mlp"
    """What is fitted (MLOPS_MODEL_FAMILY)."""

    def __post_init__(self) -> None:
        if not self.grid:
            # Frozen: the default is filled in once, here, so `grid` is never empty after.
            object.__setattr__(self, "grid", DEFAULT_GRIDS[self.family])
        # A tree needs two leaves to split at all; scikit-learn would refuse max_leaf_nodes=1
        # only once the first fold trains (or once the workflow's pod runs).
        if self.family == "gradient_boosting":
            for candidate in self.grid:
                if candidate.hidden < 2:
                    raise ConfigError(
                        f"candidate {candidate.hidden}:{candidate.learning_rate:g}: "
                        "MLOPS_MODEL_FAMILY=gradient_boosting reads HIDDEN as max leaf nodes "
                        "per tree, which must be >= 2; use e.g. 8:0.05"
                    )


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's cross-validation: what selection compared, and how its loss fell."""

    family: Family
    candidate: Candidate
    holdout_accuracy: float
    holdout_loss: float
    loss_history: list[float]
    """Training loss per epoch (mlp) or boosting stage (trees), averaged over the folds
    (weighted by their training rows)."""

    def summary(self) -> dict[str, float]:
        return {
            **candidate_params(self.family, self.candidate),
            "holdout_accuracy": self.holdout_accuracy,
            "holdout_loss": self.holdout_loss,
        }


@dataclass
class TrainResult:
    family: Family
    model: object
    """The fitted model: a `torch.nn.Module` (mlp) or a scikit-learn
    `GradientBoostingClassifier`; `app.training.families.export` turns it into ONNX."""
    candidate: Candidate
    metrics: dict[str, float]
    scores: list[CandidateScore] = field(default_factory=lambda: list[CandidateScore]())
    """Every candidate's cross-validation, in grid order."""
    loss_history: list[float] = field(default_factory=lambda: list[float]())
    """Training loss per epoch (or stage) of the exported model (trained on every row)."""
    samples_per_second: float = 0.0
    duration_seconds: float = 0.0
    device: str = "cpu"
    world_size: int = 1


def best_score(scores: list[CandidateScore]) -> CandidateScore:
    """The selection rule of every family: best accuracy, then lowest loss."""
    assert scores, "the grid has at least one candidate (checked by the CLI)"
    return max(scores, key=lambda score: (score.holdout_accuracy, -score.holdout_loss))


def samples_trained(rows: int, config: TrainConfig) -> float:
    """Rows seen over the whole grid: each candidate on (folds - 1) / folds of the rows per
    fold, then the best once on all of them, `epochs` times each."""
    return rows * config.epochs * (len(config.grid) * (config.folds - 1) / config.folds + 1)


def selection_metrics(
    best: CandidateScore, final_loss: float, rows: int, folds: int
) -> dict[str, float]:
    """What every family's run records about the selection and the exported model."""
    return {
        "accuracy": best.holdout_accuracy,
        "holdout_loss": best.holdout_loss,
        "train_loss": final_loss,
        # Cross-validation holds every training row out once; the exported model trains on
        # all of them. (Rows held out for the champion comparison are not among them.)
        "cv_rows": float(rows),
        "train_rows": float(rows),
        "folds": float(folds),
    }


@dataclass(frozen=True)
class Distributed:
    rank: int
    local_rank: int
    world_size: int

    @property
    def is_primary(self) -> bool:
        return self.rank == 0


def distributed_from_env() -> Distributed:
    """Rank and world size as torchrun sets them; a single process otherwise."""
    return Distributed(
        rank=int(os.environ.get("RANK", "0")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        world_size=int(os.environ.get("WORLD_SIZE", "1")),
    )


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Row indices of each fold; every class spread over the folds in its own proportion."""
    if folds < 2:
        raise ValueError(f"folds={folds} must be >= 2 for cross-validation")
    smallest = int(np.bincount(labels).min())
    if smallest < folds:
        raise ValueError(
            f"folds={folds} needs at least {folds} rows of every class; the smallest class "
            f"has {smallest}: use fewer folds or more data"
        )
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=np.int64)
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        assignment[rows] = np.arange(len(rows)) % folds
    return [np.flatnonzero(assignment == fold) for fold in range(folds)]


def reference_inputs(data: Dataset, config: TrainConfig) -> np.ndarray:
    """The rows the exported model was trained on (all of them): the baseline for drift."""
    del config  # kept in the signature: a split-based training would select rows here
    return data.features
