"""What every workload of one model is told about it: the app settings its pods share.

Serving, training, the pipeline, harvest, batch scoring and the rollout decision each run the
same image (or its training variant) for one model; these builders give each the same
`MLOPS_*` values for it, so two workloads of one model can never disagree on its dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
