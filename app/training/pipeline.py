"""Train → export → register → (promote if better): what `train` and `retrain` run."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app import metrics
from app.dataset import Dataset, parse_csv
from app.drift import build_reference
from app.errors import DatasetError, ModelNotFoundError, PromotionRefusedError
from app.registry import ModelMetadata, S3ModelRegistry, new_metadata
from app.training.model import export_onnx
from app.training.train import (
    TrainConfig,
    TrainResult,
    distributed_from_env,
    reference_inputs,
    train_candidates,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    metadata: ModelMetadata
    promoted: bool
    message: str


def fetch_dataset(registry: S3ModelRegistry, key: str) -> Dataset:
    try:
        raw, _ = registry.read_object(key)
    except ModelNotFoundError:
        raise DatasetError(
            f"s3://{registry.bucket}/{key} does not exist; seed it with `python -m app data upload`"
        ) from None
    return parse_csv(raw, source=f"s3://{registry.bucket}/{key}")


def build_metadata(
    data: Dataset, config: TrainConfig, result: TrainResult, code_version: str, model_name: str
) -> ModelMetadata:
    reference = reference_inputs(data, config)
    return new_metadata(
        model_name=model_name,
        dataset_sha256=data.sha256,
        code_version=code_version,
        params={
            "hidden": result.candidate.hidden,
            "learning_rate": result.candidate.learning_rate,
            "epochs": config.epochs,
            "seed": config.seed,
            "folds": config.folds,
            "device": result.device,
            "world_size": result.world_size,
            "candidates": result.candidates,
        },
        metrics=result.metrics,
        feature_names=list(data.feature_names),
        class_names=list(data.class_names),
        reference={
            name: build_reference(reference[:, i]) for i, name in enumerate(data.feature_names)
        },
    )


def train(data: Dataset, config: TrainConfig) -> TrainResult | None:
    """Train the grid; None on every rank but the primary one under torchrun."""
    try:
        result = train_candidates(data, config)
    except Exception:
        metrics.TRAINING_RUNS.labels(status="failed").inc()
        raise
    metrics.TRAINING_RUNS.labels(status="succeeded").inc()
    metrics.TRAINING_LOSS.set(result.metrics["train_loss"])
    metrics.TRAINING_THROUGHPUT.set(result.samples_per_second)
    metrics.TRAINING_DURATION.set(result.duration_seconds)
    return result if distributed_from_env().is_primary else None


def register(
    registry: S3ModelRegistry, artifact: bytes, meta: ModelMetadata, alias: str, promote: bool
) -> Outcome:
    registered = registry.register(artifact, meta)
    log.info("registered model", extra={"version": registered.version, **registered.metrics})
    if not promote:
        return Outcome(registered, False, f"registered version {registered.version}")
    try:
        registry.promote(registered.version, alias)
    except PromotionRefusedError as exc:
        log.info("candidate not promoted", extra={"reason": str(exc)})
        return Outcome(registered, False, f"registered version {registered.version}; {exc}")
    return Outcome(registered, True, f"registered version {registered.version}; {alias} now")


def write_local(directory: Path, artifact: bytes, meta: ModelMetadata) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    meta = meta.model_copy(update={"artifact_sha256": hashlib.sha256(artifact).hexdigest()})
    _write_atomically(directory / "model.onnx", artifact)
    _write_atomically(directory / "metadata.json", meta.model_dump_json(indent=2).encode())


def _write_atomically(path: Path, data: bytes) -> None:
    """`path` holds either its old content or all of `data`, never a part of it."""
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        try:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
            # NamedTemporaryFile creates 0600; give the file the mode a plain write would
            # (the umask's), so readers running as another user still can.
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(tmp.fileno(), 0o666 & ~umask)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def train_to_artifact(
    data: Dataset, config: TrainConfig, code_version: str, model_name: str
) -> tuple[bytes, ModelMetadata] | None:
    result = train(data, config)
    if result is None:
        return None
    artifact = export_onnx(result.model, len(data.feature_names))
    return artifact, build_metadata(data, config, result, code_version, model_name)
