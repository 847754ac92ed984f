"""What every workload of one model is told about it: the app settings its pods share.

Serving, training, the pipeline, harvest, batch scoring and the rollout decision each run the
same image (or its training variant) for one model; these builders give each the same
`MLOPS_*` values for it, so two workloads of one model can never disagree on its dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.components.workloads.common import PodResources
from infra.contracts import PROMETHEUS_URL


@dataclass(frozen=True, kw_only=True)
class Rollout:
    """How a promoted version of the model reaches its servers."""

    mode: Literal["direct", "shadow"]
    """direct: the alias moves at promotion; shadow: promotion starts a shadow rollout."""
    hold_seconds: int
    """Seconds a shadow rollout runs before it may complete."""
    min_agreement: float
    """Share of shadowed requests the two versions must agree on."""
    min_comparisons: int
    """Shadowed requests needed before a decision."""


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One model of the stack, as its workloads need it."""

    name: str
    """Registered model name (MLOPS_MODEL_NAME); part of each of its objects' names."""
    alias: str
    """Alias served, followed and promoted to (MLOPS_MODEL_ALIAS)."""
    family: Literal["mlp", "gradient_boosting"]
    """What training fits (MLOPS_MODEL_FAMILY)."""
    dataset_prefix: str
    """Its training data (MLOPS_DATASET_PREFIX); its dataset queue watches the same prefix."""
    packaged_dataset: Literal["iris", "wine"] | None = None
    """The example data set `data upload` seeds (MLOPS_PACKAGED_DATASET); None: the app's."""
    rollout: Rollout
    """How its promotions roll out."""


# The default candidates of a tree model's pipeline: the app's own grid for the family
# (app/training/candidates.py GRADIENT_BOOSTING_GRID, max leaf nodes:shrinkage); the stack's
# `workflows.candidates` is the MLP's (hidden units:learning rate).
TREE_CANDIDATES = ("4:0.05", "8:0.05", "8:0.02")


CPU_TRAINING_RESOURCES = PodResources(
    cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="2Gi"
)
"""A CPU-trained family's training pod (scikit-learn on a few thousand rows, one process): it
fits beside the serving pods on a system node; the GPU pool's sizing would not."""


def trains_on_gpus(model: ModelSpec) -> bool:
    """Whether the model's training runs on the GPU pool under torchrun. Gradient-boosted
    trees train on one CPU, on the system nodes: torchrun would start one process per GPU,
    which the family refuses, and each would hold a GPU it does not use."""
    return model.family == "mlp"


def model_settings(model: ModelSpec) -> dict[str, str]:
    """Settings every pod of the model gets. The upload key is set beside the prefix because
    the app refuses a default key outside it (a pod would not start)."""
    settings = {
        "model_name": model.name,
        "model_alias": model.alias,
        "dataset_prefix": model.dataset_prefix,
        "dataset_key": f"{model.dataset_prefix}{model.name}.csv",
    }
    if model.packaged_dataset is not None:
        settings["packaged_dataset"] = model.packaged_dataset
    return settings


def training_settings(model: ModelSpec) -> dict[str, str]:
    """What training and pipeline pods add: the family to fit, and whether a promotion moves
    the alias (direct) or starts a shadow rollout."""
    return {
        **model_settings(model),
        "model_family": model.family,
        "rollout_mode": model.rollout.mode,
    }


def rollout_settings(model: ModelSpec) -> dict[str, str]:
    """What the rollout decision adds: where the serving metrics are, and its thresholds."""
    return {
        **model_settings(model),
        "prometheus_url": PROMETHEUS_URL,
        "rollout_hold_seconds": str(model.rollout.hold_seconds),
        "rollout_min_agreement": str(model.rollout.min_agreement),
        "rollout_min_comparisons": str(model.rollout.min_comparisons),
    }
