"""The models a stack serves: `mlops-platform:app.models`, one serving workload and one training
setup each.

Fields every model shares (image, exposure, high availability, the training schedule and
GPUs) stay on `app`; what differs per model (its name, alias, what training fits, its replicas
and resources, its share of captured predictions, how a new version rolls out) is here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from infra.config.base import ConfigModel
from infra.config.resources import ServingResourcesConfig, check_app_setting
from infra.contracts import DATASET_PREFIX, MODEL_NAME_LIMITS, model_dataset_prefix

DEFAULT_MODEL = "iris-classifier"
_PREFIX_HELP = 'use a key prefix ending in "/", e.g. "datasets/wine-classifier/"'


class RolloutConfig(ConfigModel):
    mode: Literal["direct", "shadow"] = "shadow"
    """direct: a promotion moves the alias at once. shadow: a promotion starts a shadow
    rollout (the new version scores the same requests beside the served one); a CronJob
    every 5 minutes completes it once the two agree on enough requests for long enough, or
    rolls it back. shadow needs monitoring. Default shadow."""
    hold_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """Minutes a shadow rollout runs before it may complete (MLOPS_ROLLOUT_HOLD_SECONDS), at
    most a day: the rollout's own timeout is a day, and ShadowRolloutUndecided pages after
    two. Default 30."""
    min_agreement: float = Field(default=0.9, ge=0.0, le=1.0)
    """Share of shadowed requests on which the two versions must predict the same class for
    the rollout to complete; below it, it is rolled back. Default 0.9."""
    min_comparisons: int = Field(default=500, ge=1)
    """Shadowed requests (not rows: one batch counts once) needed before a decision; fewer:
    the rollout keeps waiting, and is rolled back after a day. Default 500."""

    @field_validator("min_agreement", "min_comparisons")
    @classmethod
    def _app_accepts_it(cls, value: float, info: ValidationInfo) -> float:
        # The rollout decision gets these as MLOPS_ROLLOUT_MIN_*; the hold's bounds above are
        # the app's (7 days), in minutes.
        check_app_setting(f"rollout_{info.field_name}", value)
        return value


class ModelConfig(ConfigModel):
    name: str
    """Registered model: `models/<name>/` in the bucket, and part of every Kubernetes name of
    its workloads (`model-server-<name>`, `retrain-<name>`, ...). Required."""
    alias: str = "production"
    """Alias of the version its servers serve and follow. Default production."""
    family: Literal["mlp", "gradient_boosting"] = "mlp"
    """What training fits (MLOPS_MODEL_FAMILY): a small neural network (mlp) or gradient-boosted
    trees. Default mlp."""
    dataset_prefix: str | None = None
    """Where its training data lies in the bucket; default `datasets/<name>/`."""
    packaged_dataset: Literal["iris", "wine"] | None = None
    """The example data set shipped with the app (MLOPS_PACKAGED_DATASET) that the deploy job
    seeds under the dataset prefix when a first deploy finds no data there. Unset: bring your
    own data (upload it under the prefix before the first training)."""
    min_replicas: int = Field(default=2, ge=1)
    """Fewest serving pods. Default 2."""
    max_replicas: int = Field(default=6, ge=1)
    """Most serving pods (HPA). Default 6."""
    resources: ServingResourcesConfig = ServingResourcesConfig()
    """CPU and memory of each serving pod."""
    capture_sample_rate: float = 1.0
    """Share of its predictions captured to `captures/` for labelling and drift analysis, from
    0 (none) to 1 (every one). Default 1.0."""
    rollout: RolloutConfig = RolloutConfig()
    """How a promoted version reaches its servers."""

    @field_validator("name", "alias")
    @classmethod
    def _app_accepts_it(cls, value: str, info: ValidationInfo) -> str:
        # Every pod of the model gets these as MLOPS_MODEL_NAME and MLOPS_MODEL_ALIAS.
        check_app_setting(f"model_{info.field_name}", value)
        return value

    @field_validator("name")
    @classmethod
    def _short_enough_for_kubernetes(cls, value: str) -> str:
        for kind, derive, limit in MODEL_NAME_LIMITS:
            derived = derive(value)
            if len(derived) > limit:
                raise ValueError(_too_long(value, kind, derived, limit, longest_model_name()))
        return value

    @field_validator("dataset_prefix")
    @classmethod
    def _a_prefix(cls, value: str | None) -> str | None:
        if value is not None:
            check_app_setting("dataset_prefix", value)
            if not value.endswith("/"):
                raise ValueError(f"does not end in '/'; {_PREFIX_HELP}")
        return value

    @field_validator("capture_sample_rate")
    @classmethod
    def _a_share(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                "is not a share of predictions; use a number from 0 (capture none) to 1 "
                "(capture every prediction), e.g. 0.1"
            )
        return value

    @model_validator(mode="after")
    def _replicas_ordered(self) -> ModelConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"model {self.name!r}: minReplicas={self.min_replicas} is above "
                f"maxReplicas={self.max_replicas}; raise maxReplicas or lower minReplicas"
            )
        return self

    @property
    def dataset(self) -> str:
        """The prefix its training reads and its dataset queue watches."""
        return self.dataset_prefix or model_dataset_prefix(self.name)


def longest_model_name() -> int:
    """The most characters a model name may have so that every name derived from it fits."""
    return min(limit - len(derive("")) for _, derive, limit in MODEL_NAME_LIMITS)


def _too_long(name: str, kind: str, derived: str, limit: int, longest: int) -> str:
    return (
        f"is {len(name)} characters long: the {kind} name {derived!r} would be "
        f"{len(derived)}, over its limit of {limit}; use a model name of at most {longest} "
        "characters"
    )


def default_models() -> list[ModelConfig]:
    """A stack that lists no models serves one, on the app's default dataset (what every stack
    did before models were listed, and what `make up` seeds)."""
    return [ModelConfig(name=DEFAULT_MODEL, dataset_prefix=DATASET_PREFIX, packaged_dataset="iris")]


def check_models(models: list[ModelConfig]) -> list[ModelConfig]:
    """At least one model; names and dataset prefixes used once each."""
    if not models:
        raise ValueError(
            "lists no model; list at least one, e.g. [{name: iris-classifier}], or remove "
            "app.models to serve iris-classifier alone"
        )
    seen: dict[str, int] = {}
    prefixes: dict[str, str] = {}
    for index, model in enumerate(models):
        if model.name in seen:
            raise ValueError(
                f"lists model {model.name!r} twice (entries {seen[model.name] + 1} and "
                f"{index + 1}); "
                "each model gets its own workloads under its name, so give each entry a "
                "different name or remove the duplicate"
            )
        seen[model.name] = index
        for other, prefix in prefixes.items():
            if model.dataset.startswith(prefix) or prefix.startswith(model.dataset):
                raise ValueError(
                    f"models {other!r} and {model.name!r} read overlapping datasets "
                    f"({prefix!r}, {model.dataset!r}), so new data of one would retrain "
                    "both; give each its own datasetPrefix"
                )
        prefixes[model.name] = model.dataset
    return models
