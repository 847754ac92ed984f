"""Train → export → track → register → (promote if better): what `train` and `retrain` run."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app import data_versions, metrics
from app.data_versions import LoadedDataset
from app.dataset import Dataset, DatasetVersion
from app.drift import build_reference
from app.errors import InvalidModelError, PromotionRefusedError
from app.registry import ModelMetadata, ModelSignature, S3ModelRegistry, new_metadata
from app.tracking.runs import (
    TrainingRecord,
    find_run_on_data,
    log_training,
    mark_refused,
    training_environment,
)
from app.training import families
from app.training.candidates import (
    TrainConfig,
    TrainResult,
    candidate_params,
    distributed_from_env,
    reference_inputs,
)
from app.training.evaluation import PromotionPolicy, split_holdout
from app.training.promotion import challenge

if TYPE_CHECKING:
    from app.tracking.registry import TrackedModelRegistry

log = logging.getLogger(__name__)

DEFAULT_FOLDS = TrainConfig().folds


@dataclass(frozen=True)
class Outcome:
    version: str
    run_id: str
    metadata: ModelMetadata
    promoted: bool
    message: str


def fetch_dataset(store: S3ModelRegistry, prefix: str) -> LoadedDataset:
    """Every CSV under the dataset prefix, validated, with the S3 version of each object."""
    loaded = data_versions.load(store.s3, store.bucket, prefix)
    log.info(
        "dataset validated",
        extra={"dataset": loaded.version.uri, "validation": loaded.report.summary()},
    )
    return loaded


def local_dataset(data: Dataset, source: str) -> DatasetVersion:
    name = source.rsplit("/", 1)[-1].removesuffix(".csv")
    return DatasetVersion(name, source, data.sha256, {})


def resolve_code_version(configured: str | None) -> str:
    """The image's git SHA (MLOPS_CODE_VERSION); else the checkout's commit, `-dirty` with
    uncommitted changes; `unknown` outside a checkout."""
    if configured:
        return configured
    here = Path(__file__).resolve().parent
    try:
        commit = _git(here, "rev-parse", "HEAD")
        dirty = _git(here, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["git", *args],  # noqa: S607 - git from PATH, like a developer's shell
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout.strip()


def build_metadata(
    data: Dataset,
    config: TrainConfig,
    result: TrainResult,
    code_version: str,
    model_name: str,
    signature: ModelSignature,
) -> ModelMetadata:
    reference = reference_inputs(data, config)
    return new_metadata(
        model_name=model_name,
        dataset_sha256=data.sha256,
        code_version=code_version,
        params={
            "family": result.family,
            **candidate_params(result.family, result.candidate),
            # Boosting stages, for the trees (candidates.py has the mapping).
            "epochs": config.epochs,
            "seed": config.seed,
            "folds": config.folds,
            "device": result.device,
            "world_size": result.world_size,
            "candidates": [score.summary() for score in result.scores],
        },
        metrics=result.metrics,
        feature_names=list(data.feature_names),
        class_names=list(data.class_names),
        reference={
            name: build_reference(reference[:, i]) for i, name in enumerate(data.feature_names)
        },
        signature=signature,
    )


def train(data: Dataset, config: TrainConfig) -> TrainResult | None:
    """Train the grid; None on every rank but the primary one under torchrun."""
    try:
        result = families.train_candidates(data, config)
    except Exception:
        metrics.TRAINING_RUNS.labels(status="failed").inc()
        raise
    metrics.TRAINING_RUNS.labels(status="succeeded").inc()
    metrics.TRAINING_LOSS.set(result.metrics["train_loss"])
    metrics.TRAINING_THROUGHPUT.set(result.samples_per_second)
    metrics.TRAINING_DURATION.set(result.duration_seconds)
    return result if distributed_from_env().is_primary else None


def track_and_register(
    registry: TrackedModelRegistry,
    record: TrainingRecord,
    alias: str,
    promote: bool,
    policy: PromotionPolicy | None = None,
) -> Outcome:
    """Log the training, register its model, and promote it when asked and better: on the
    held-out rows against the served version when the record has them (`policy`), else by
    the registry's metric gate.

    A model that must not be registered (e.g. non-finite metrics) leaves its run tagged with
    why and no version; the run is logged first so a person can see what went wrong.
    """
    run = log_training(registry.client, registry.tracking_uri, registry.model_name, record)
    try:
        version = registry.register(run, record.metadata, record.artifact)
    except InvalidModelError as exc:
        mark_refused(registry.client, registry.tracking_uri, run.run_id, str(exc))
        raise
    meta = record.metadata.model_copy(update={"version": version})
    log.info("registered model", extra={"version": version, "run_id": run.run_id})
    if not promote:
        return Outcome(version, run.run_id, meta, False, f"registered version {version}")
    if record.holdout is not None and policy is not None:
        decision = challenge(registry, run, (record.artifact, meta), record.holdout, alias, policy)
        return Outcome(
            version, run.run_id, meta, decision.promote, f"version {version}: {decision.reason}"
        )
    try:
        registry.promote(version, alias)
    except PromotionRefusedError as exc:
        log.info("candidate not promoted", extra={"reason": str(exc)})
        return Outcome(version, run.run_id, meta, False, f"registered version {version}; {exc}")
    return Outcome(version, run.run_id, meta, True, f"registered version {version}; {alias} now")


def previous_run_on(
    registry: TrackedModelRegistry, dataset: DatasetVersion, family: str
) -> str | None:
    """The last finished training of `family` on exactly this data (same digest), if there is
    one: a retrain on it would train the same model again."""
    return find_run_on_data(
        registry.client, registry.tracking_uri, registry.model_name, dataset.digest, family
    )


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
    """The exported model and its metadata; None on every rank but the primary one."""
    record = train_to_record(
        data, local_dataset(data, "in memory"), config, code_version, model_name
    )
    return None if record is None else (record.artifact, record.metadata)


def train_to_record(
    data: Dataset,
    dataset: DatasetVersion,
    config: TrainConfig,
    code_version: str,
    model_name: str,
    holdout_fraction: float = 0.0,
    validation: dict[str, object] | None = None,
) -> TrainingRecord | None:
    """Everything the tracking server records of one training; None on every rank but the
    primary one (distributed runs log once). With `holdout_fraction`, that share of each
    class is kept out of training, for the champion/challenger comparison."""
    holdout = None
    if holdout_fraction > 0:
        data, holdout = split_holdout(data, holdout_fraction, config.seed)
    result = train(data, config)
    if result is None:
        return None
    artifact, signature = families.export(result, len(data.feature_names))
    return TrainingRecord(
        result=result,
        metadata=build_metadata(data, config, result, code_version, model_name, signature),
        artifact=artifact,
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        dataset=dataset,
        code_version=code_version,
        environment=training_environment(result.family),
        holdout=holdout,
        validation=validation,
    )
