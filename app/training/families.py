"""One entry point over the model families: train the grid, export the chosen model.

The family is `TrainConfig.family` (MLOPS_MODEL_FAMILY). Each family's module is imported
only when it trains, so a tree training never loads PyTorch and an MLP one never loads
scikit-learn.
"""

from __future__ import annotations

from app.dataset import Dataset
from app.errors import ConfigError
from app.registry import ModelSignature
from app.training.candidates import TrainConfig, TrainResult, distributed_from_env


def train_candidates(data: Dataset, config: TrainConfig) -> TrainResult:
    """Cross-validate the grid and fit the best candidate on every row, in config's family."""
    if config.family == "gradient_boosting":
        _refuse_torchrun(config)
        from app.training import gradient_boosting

        return gradient_boosting.train_candidates(data, config)
    from app.training import train

    return train.train_candidates(data, config)


def export(result: TrainResult, features: int) -> tuple[bytes, ModelSignature]:
    """The fitted model as ONNX, and the signature that says how to call and read it."""
    if result.family == "gradient_boosting":
        # scikit-learn ships no type information.
        from sklearn.ensemble import (  # pyright: ignore[reportMissingTypeStubs]
            GradientBoostingClassifier,
        )

        from app.training import gradient_boosting

        assert isinstance(result.model, GradientBoostingClassifier), type(result.model)
        return gradient_boosting.export_onnx(result.model, features), gradient_boosting.SIGNATURE
    from torch import nn

    from app.training import model

    assert isinstance(result.model, nn.Module), type(result.model)
    return model.export_onnx(result.model, features), model.SIGNATURE


def _refuse_torchrun(config: TrainConfig) -> None:
    # Every rank would fit the same trees and the primary would log them: N times the work
    # for one model. Better to say so than to run it.
    world_size = distributed_from_env().world_size
    if world_size > 1:
        raise ConfigError(
            f"MLOPS_MODEL_FAMILY={config.family} trains in one process on the CPU, but "
            f"WORLD_SIZE={world_size} (torchrun): torchrun applies to the mlp family only; "
            "run `python -m app train` without torchrun, or set MLOPS_MODEL_FAMILY=mlp"
        )
