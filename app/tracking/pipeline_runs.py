"""The tracking side of the training pipeline's steps (`app.training.steps`).

prepare   creates the parent run: the dataset (URI, digest, each object's S3 version, the
          validation report) and the code version; the run stays RUNNING.
candidate one child run per candidate, each possibly in its own pod or process: parameters,
          cross-validated and final metrics, loss per epoch, the environment, the ONNX
          artifact and metadata, its sha256.
finish    picks the best finished child, copies its parameters and metrics to the parent, and
          ends the parent (FINISHED, or FAILED when no candidate finished).
Steps pass nothing but the parent run's id: whatever a step needs, an earlier step recorded.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.entities.run_status import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from app import model_checks
from app.dataset import DatasetVersion
from app.errors import ConfigError, InvalidModelError, TrackingUnavailableError
from app.tracking.connection import tracking_errors
from app.tracking.runs import (
    ARTIFACT_FILE,
    CODE_VERSION_TAG,
    FAMILY_TAG,
    METADATA_FILE,
    MODEL_DIR,
    SHA256_TAG,
    LoggedRun,
    TrainingRecord,
    experiment_id,
    finish_run,
    history_metrics,
    tracked_dataset_input,
)
from app.training.candidates import candidate_label

DATASET_URI_TAG = "dataset_uri"
DATASET_NAME_TAG = "dataset_name"
DATASET_SHA_TAG = "dataset_sha256"
"""What the training fits: a retraining on the same data is skipped only for the same one."""
OBJECTS_TAG = "dataset_objects"
MANIFEST_ARTIFACT = "data/manifest.json"
"""S3 key → version id of every object the training read."""
CANDIDATE_TAG = "candidate"
SEED_TAG = "seed"
HOLDOUT_TAG = "holdout_fraction"
REFUSED_TAG = "registration_refused"
FOLD_LOSS = "cv_train_loss"
EPOCH_LOSS = "epoch_train_loss"
HISTORIES = (FOLD_LOSS, EPOCH_LOSS)
WINNER_TAG = "winning_candidate_run"
REGISTERED_TAG = "registered_version"


@dataclass(frozen=True)
class ParentRun:
    run_id: str
    experiment_id: str
    dataset: DatasetVersion
    code_version: str
    seed: int
    """Every step's seed: the same held-out rows in every candidate and in `finish`."""
    holdout_fraction: float


def create_parent(
    client: MlflowClient,
    uri: str,
    experiment: str,
    dataset: DatasetVersion,
    validation: dict[str, object] | None,
    code_version: str,
    schema_json: str,
    seed: int,
    holdout_fraction: float,
    family: str,
) -> ParentRun:
    """The parent run, RUNNING until `finish`; FAILED if recording the dataset fails."""
    with tracking_errors(uri, f"creating a run in experiment {experiment!r}"):
        found = experiment_id(client, experiment)
        run = client.create_run(
            found,
            run_name=f"train-{time.strftime('%Y%m%d-%H%M%S')}",
            tags={
                CODE_VERSION_TAG: code_version,
                "mlflow.source.name": "python -m app train",
                "mlflow.source.type": "JOB",
                DATASET_URI_TAG: dataset.uri,
                DATASET_NAME_TAG: dataset.name,
                DATASET_SHA_TAG: dataset.digest,
                OBJECTS_TAG: str(len(dataset.object_versions)),
                SEED_TAG: str(seed),
                HOLDOUT_TAG: repr(holdout_fraction),
                FAMILY_TAG: family,
            },
        )
    run_id = run.info.run_id
    try:
        with tracking_errors(uri, f"recording the dataset on run {run_id}"):
            # The object list grows with the dataset: an artifact, not a tag (MLflow caps
            # tags at a few hundred characters on dataset inputs).
            client.log_dict(run_id, dataset.object_versions, MANIFEST_ARTIFACT)
            client.log_inputs(run_id, datasets=[tracked_dataset_input(dataset, schema_json)])
            if validation is not None:
                client.log_dict(run_id, validation, "data/validation.json")
                rejected = validation.get("rejected", 0)
                count = float(rejected) if isinstance(rejected, int) else 0.0
                client.log_metric(run_id, "rows_rejected", count)
    except BaseException:
        finish_run(client, run_id, RunStatus.FAILED, quietly=True)
        raise
    return ParentRun(run_id, found, dataset, code_version, seed, holdout_fraction)


def read_parent(client: MlflowClient, uri: str, run_id: str) -> ParentRun:
    with tracking_errors(uri, f"reading run {run_id}"):
        run = client.get_run(run_id)
    tags = run.data.tags
    missing = [t for t in (DATASET_URI_TAG, DATASET_SHA_TAG) if t not in tags]
    if missing:
        raise ConfigError(
            f"run {run_id} is not a training's parent run (no {', '.join(missing)} tag); pass "
            "the run id `python -m app pipeline prepare` printed"
        )
    with (
        tracking_errors(uri, f"reading the dataset manifest of run {run_id}"),
        tempfile.TemporaryDirectory(prefix="mlops-manifest-") as tmp,
    ):
        local = client.download_artifacts(run_id, MANIFEST_ARTIFACT, tmp)
        manifest: dict[str, str] = json.loads(Path(local).read_text())
    dataset = DatasetVersion(
        tags.get(DATASET_NAME_TAG, "dataset"),
        tags[DATASET_URI_TAG],
        tags[DATASET_SHA_TAG],
        manifest,
    )
    return ParentRun(
        run_id,
        run.info.experiment_id,
        dataset,
        tags.get(CODE_VERSION_TAG, "unknown"),
        int(tags.get(SEED_TAG, "0")),
        float(tags.get(HOLDOUT_TAG, "0")),
    )


def log_candidate(
    client: MlflowClient, uri: str, parent: ParentRun, record: TrainingRecord
) -> LoggedRun:
    """One candidate's child run, its model among its artifacts."""
    score = record.result.scores[0]
    candidate = score.candidate
    refused = "; ".join(model_checks.metadata_problems(record.metadata))
    with tracking_errors(uri, f"logging a candidate of run {parent.run_id}"):
        child = client.create_run(
            parent.experiment_id,
            run_name=f"candidate-{candidate_label(score.family, candidate)}",
            tags={
                MLFLOW_PARENT_RUN_ID: parent.run_id,
                # As `--candidate` takes it, whatever the family.
                CANDIDATE_TAG: f"{candidate.hidden}:{candidate.learning_rate:g}",
                SHA256_TAG: record.artifact_sha256,
                CODE_VERSION_TAG: record.code_version,
                **({REFUSED_TAG: refused[:5000]} if refused else {}),
                **{f"env.{name}": value for name, value in record.environment.items()},
            },
        )
        run_id = child.info.run_id
        try:
            now = int(time.time() * 1000)
            params = {
                k: v if isinstance(v, str) else json.dumps(v)
                for k, v in record.metadata.params.items()
                if k != "candidates"
            }
            client.log_batch(
                run_id,
                params=[Param(k, v[:6000]) for k, v in params.items()],
                metrics=[
                    Metric("holdout_accuracy", score.holdout_accuracy, now, 0),
                    *(Metric(k, v, now, 0) for k, v in record.metadata.metrics.items()),
                    *history_metrics(FOLD_LOSS, score.loss_history, now),
                    *history_metrics(EPOCH_LOSS, record.result.loss_history, now),
                ],
            )
            if not refused:  # a model that must not be registered is not kept either
                _log_model(client, run_id, record)
            finish_run(client, run_id, RunStatus.FINISHED)
        except BaseException:
            finish_run(client, run_id, RunStatus.FAILED, quietly=True)
            raise
    return LoggedRun(run_id, parent.experiment_id, str(child.info.artifact_uri))


def _log_model(client: MlflowClient, run_id: str, record: TrainingRecord) -> None:
    with tempfile.TemporaryDirectory(prefix="mlops-model-") as tmp:
        folder = Path(tmp) / MODEL_DIR
        folder.mkdir()
        (folder / ARTIFACT_FILE).write_bytes(record.artifact)
        (folder / METADATA_FILE).write_text(record.metadata.model_dump_json(indent=2))
        client.log_artifacts(run_id, str(folder), MODEL_DIR)


def best_candidate(client: MlflowClient, uri: str, parent: ParentRun) -> Run:
    """The finished child with the best cross-validated accuracy (then loss)."""
    with tracking_errors(uri, f"listing the candidates of run {parent.run_id}"):
        children = client.search_runs(
            [parent.experiment_id],
            f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent.run_id}' and attributes.status = 'FINISHED'",
        )
    finished = [run for run in children if SHA256_TAG in run.data.tags]
    usable = [run for run in finished if REFUSED_TAG not in run.data.tags]
    if finished and not usable:
        reasons = "; ".join(sorted({run.data.tags[REFUSED_TAG] for run in finished}))
        raise InvalidModelError(f"every candidate was refused: {reasons}; nothing was registered")
    if not usable:
        raise TrackingUnavailableError(
            f"run {parent.run_id} has no finished candidate: every candidate step failed; "
            "their runs and logs say why"
        )
    finished = usable
    return max(
        finished,
        key=lambda run: (
            run.data.metrics.get("holdout_accuracy", float("-inf")),
            -run.data.metrics.get("holdout_loss", float("inf")),
        ),
    )


def complete_parent(
    client: MlflowClient, uri: str, parent: ParentRun, winner: Run, primary_metric: str
) -> None:
    """Copy the winner's parameters and metrics to the parent (which stays RUNNING until
    `finish` has registered and decided)."""
    now = int(time.time() * 1000)
    with tracking_errors(uri, f"completing run {parent.run_id}"):
        # The exported model's loss curve, whole; the folds' curve stays on the candidate.
        curve = client.get_metric_history(winner.info.run_id, EPOCH_LOSS)
        finals = {k: v for k, v in winner.data.metrics.items() if k not in HISTORIES}
        client.log_batch(
            parent.run_id,
            params=[Param(k, v) for k, v in winner.data.params.items()],
            metrics=[
                *(Metric(k, v, now, 0) for k, v in finals.items()),
                *(Metric(EPOCH_LOSS, m.value, m.timestamp, m.step) for m in curve),
            ],
            tags=[
                RunTag(WINNER_TAG, winner.info.run_id),
                RunTag(SHA256_TAG, winner.data.tags[SHA256_TAG]),
                RunTag("primary_metric", primary_metric),
                *(RunTag(k, v) for k, v in winner.data.tags.items() if k.startswith("env.")),
            ],
        )


def registered_version(client: MlflowClient, uri: str, parent: ParentRun) -> str | None:
    """The version an earlier `finish` of this run registered, if it got that far: a retried
    step registers nothing twice."""
    with tracking_errors(uri, f"reading run {parent.run_id}"):
        return client.get_run(parent.run_id).data.tags.get(REGISTERED_TAG)


def mark_registered(client: MlflowClient, uri: str, parent: ParentRun, version: str) -> None:
    with tracking_errors(uri, f"tagging run {parent.run_id}"):
        client.set_tag(parent.run_id, REGISTERED_TAG, version)


def abandon(client: MlflowClient, uri: str, parent: ParentRun) -> bool:
    """End a training that will not reach `finish` (its candidates failed): FAILED, so the
    next retraining trains its data again. False when it had ended already."""
    with tracking_errors(uri, f"ending run {parent.run_id}"):
        if client.get_run(parent.run_id).info.status != "RUNNING":
            return False
        client.set_tag(parent.run_id, "abandoned", "a candidate step failed; see its run")
        finish_run(client, parent.run_id, RunStatus.FAILED)
    return True


def end_parent(client: MlflowClient, parent: ParentRun) -> None:
    finish_run(client, parent.run_id, RunStatus.FINISHED)


def fail_parent(client: MlflowClient, parent: ParentRun) -> None:
    finish_run(client, parent.run_id, RunStatus.FAILED, quietly=True)
