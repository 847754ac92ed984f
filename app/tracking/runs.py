"""What one training records on the tracking server.

One parent run per training, one child run per candidate of the grid:
- child: the candidate's parameters, its cross-validated accuracy and loss, and its training
  loss per epoch (averaged over the folds);
- parent: the chosen candidate's parameters, the final metrics and the exported model's loss
  per epoch, the dataset it read (digest and S3 object version ids, as an MLflow dataset
  input), the code version, the environment (Python, the family's libraries, the device), and the
  artifacts `model/model.onnx` and `model/metadata.json` with the ONNX file's sha256.

Everything is written after training, in a few batched calls; a failure marks the parent run
FAILED, so a half-logged training never looks finished and is never registered.
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow.entities import Dataset as TrackedDataset
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.entities.run_status import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from app.dataset import Dataset, DatasetVersion
from app.tracking.connection import tracking_errors
from app.training.candidates import candidate_label, candidate_params

if TYPE_CHECKING:
    from app.registry import ModelMetadata
    from app.training.candidates import CandidateScore, TrainResult

MODEL_DIR = "model"
"""Artifact folder of the parent run holding model.onnx and metadata.json."""
ARTIFACT_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
SHA256_TAG = "artifact_sha256"
CODE_VERSION_TAG = "mlflow.source.git.commit"
FAMILY_TAG = "model_family"
"""MLflow's own tag for the commit, which its UI shows as the run's source version."""


@dataclass(frozen=True)
class TrainingRecord:
    """Everything a finished training hands to the tracking server."""

    result: TrainResult
    metadata: ModelMetadata
    artifact: bytes
    artifact_sha256: str
    dataset: DatasetVersion
    code_version: str
    environment: dict[str, str]
    holdout: Dataset | None = None
    """Rows of the newest data the model never saw, on which champion and challenger are
    compared; None when training held nothing out."""
    validation: dict[str, object] | None = None
    """The dataset's validation report (rows accepted, rejected and why); None for a local
    file, which must be entirely valid."""


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    experiment_id: str
    artifact_uri: str
    """Where the run's artifacts live (`mlflow-artifacts:/...`); + `/model` is the model."""


def log_training(
    client: MlflowClient, uri: str, experiment: str, record: TrainingRecord
) -> LoggedRun:
    """Log `record` as a parent run with a child run per candidate; the parent's id."""
    with tracking_errors(uri, f"creating a run in experiment {experiment!r}"):
        found = experiment_id(client, experiment)
        parent = client.create_run(
            found,
            run_name=f"train-{time.strftime('%Y%m%d-%H%M%S')}",
            tags=_run_tags(record),
        )
    run_id = parent.info.run_id
    try:
        with tracking_errors(uri, f"logging run {run_id}"):
            for score in record.result.scores:
                _log_candidate(client, found, run_id, score)
            _log_parent(client, run_id, record)
            finish_run(client, run_id, RunStatus.FINISHED)
    except BaseException:
        _mark_failed(client, run_id)
        raise
    return LoggedRun(run_id, found, str(parent.info.artifact_uri))


def mark_refused(client: MlflowClient, uri: str, run_id: str, reason: str) -> None:
    """Record on a finished run why it was not registered (e.g. non-finite metrics)."""
    with tracking_errors(uri, f"tagging run {run_id}"):
        client.set_tag(run_id, "registration_refused", reason[:5000])


def log_evaluation(
    client: MlflowClient,
    uri: str,
    run_id: str,
    metrics: dict[str, float],
    tags: dict[str, str],
    files: dict[str, str],
) -> None:
    """Add the champion/challenger comparison to a training's run: scores as metrics, the
    decision as tags, the report and scores as files under `evaluation/`."""
    now = _millis()
    with tracking_errors(uri, f"logging the evaluation of run {run_id}"):
        client.log_batch(
            run_id,
            metrics=[Metric(key, value, now, 0) for key, value in metrics.items()],
            tags=[RunTag(key, value[:5000]) for key, value in tags.items()],
        )
        for name, text in files.items():
            client.log_text(run_id, text, f"evaluation/{name}")


FINAL_TAGS = ("promotion_decision", "registration_refused")
"""A training on some data is done with it once it decided on promotion or was refused; a run
that failed or stopped before that leaves the data to be trained on again."""


def find_run_on_data(
    client: MlflowClient, uri: str, experiment: str, digest: str, family: str
) -> str | None:
    """The latest training of `experiment` that fit `family` and got to a final word on data
    with this digest (a training of another family on it is no reason to skip)."""
    with tracking_errors(uri, f"searching runs of experiment {experiment!r}"):
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return None
        for tag in FINAL_TAGS:
            runs = client.search_runs(
                [found.experiment_id],
                f"tags.dataset_sha256 = '{digest}' and tags.{FAMILY_TAG} = '{family}' "
                f"and tags.{tag} != ''",
                max_results=1,
                order_by=["attributes.start_time DESC"],
            )
            if runs:
                return runs[0].info.run_id
    return None


def experiment_id(client: MlflowClient, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:
        # Another training created it between the lookup and the create.
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id


def _run_tags(record: TrainingRecord) -> dict[str, str]:
    return {
        CODE_VERSION_TAG: record.code_version,
        "mlflow.source.name": "python -m app train",
        "mlflow.source.type": "JOB",
        "dataset_sha256": record.dataset.digest,
        FAMILY_TAG: record.metadata.signature.family,
        SHA256_TAG: record.artifact_sha256,
        **{f"env.{name}": value for name, value in record.environment.items()},
    }


def _log_candidate(
    client: MlflowClient, experiment_id: str, parent_id: str, score: CandidateScore
) -> None:
    child = client.create_run(
        experiment_id,
        run_name=f"candidate-{candidate_label(score.family, score.candidate)}",
        tags={MLFLOW_PARENT_RUN_ID: parent_id},
    )
    now = _millis()
    client.log_batch(
        child.info.run_id,
        params=[
            Param(name, str(value))
            for name, value in candidate_params(score.family, score.candidate).items()
        ],
        metrics=[
            Metric("holdout_accuracy", score.holdout_accuracy, now, 0),
            Metric("holdout_loss", score.holdout_loss, now, 0),
            *history_metrics("cv_train_loss", score.loss_history, now),
        ],
    )
    finish_run(client, child.info.run_id, RunStatus.FINISHED)


def _log_parent(client: MlflowClient, run_id: str, record: TrainingRecord) -> None:
    now = _millis()
    params = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in record.metadata.params.items()
        if key != "candidates"  # each candidate is a child run
    }
    client.log_batch(
        run_id,
        params=[Param(key, value[:6000]) for key, value in params.items()],
        metrics=[
            *(Metric(key, value, now, 0) for key, value in record.metadata.metrics.items()),
            *history_metrics("epoch_train_loss", record.result.loss_history, now),
        ],
        tags=[
            RunTag("primary_metric", record.metadata.primary_metric),
            RunTag(
                "heldout_rows", str(0 if record.holdout is None else len(record.holdout.labels))
            ),
        ],
    )
    client.log_dict(run_id, record.dataset.object_versions, "data/manifest.json")
    client.log_inputs(run_id, datasets=[_dataset_input(record)])
    if record.validation is not None:
        client.log_dict(run_id, record.validation, "data/validation.json")
        rejected = record.validation.get("rejected", 0)
        client.log_metric(
            run_id, "rows_rejected", float(rejected) if isinstance(rejected, int) else 0.0
        )
    with tempfile.TemporaryDirectory(prefix="mlops-model-") as tmp:
        folder = Path(tmp) / MODEL_DIR
        folder.mkdir()
        (folder / ARTIFACT_FILE).write_bytes(record.artifact)
        (folder / METADATA_FILE).write_text(record.metadata.model_dump_json(indent=2))
        client.log_artifacts(run_id, str(folder), MODEL_DIR)


def _dataset_input(record: TrainingRecord) -> DatasetInput:
    return tracked_dataset_input(record.dataset, feature_schema_json(record.metadata.feature_names))


def tracked_dataset_input(dataset: DatasetVersion, schema_json: str) -> DatasetInput:
    """The dataset as MLflow shows it on a run: name, source, digest, schema, and the sha256
    and S3 object versions as tags."""
    source_type = "s3" if dataset.uri.startswith("s3://") else "local"
    return DatasetInput(
        dataset=TrackedDataset(
            name=dataset.name,
            digest=dataset.digest[:36],
            source_type=source_type,
            source=json.dumps({"uri": dataset.uri}),
            schema=schema_json,
        ),
        tags=[
            InputTag("mlflow.data.context", "training"),
            InputTag("sha256", dataset.digest),
            # The objects and their versions: the run's data/manifest.json (it grows with the
            # dataset; MLflow caps these tags at 500 characters).
            InputTag("objects", str(len(dataset.object_versions))),
        ],
    )


def feature_schema_json(feature_names: list[str] | tuple[str, ...]) -> str:
    """MLflow's column spec of a training CSV: the features, then the label."""
    return json.dumps(
        {
            "mlflow_colspec": [
                *({"name": n, "type": "float", "required": True} for n in feature_names),
                {"name": "label", "type": "string", "required": True},
            ]
        }
    )


def history_metrics(key: str, values: list[float], timestamp: int) -> list[Metric]:
    return [Metric(key, value, timestamp, step) for step, value in enumerate(values, start=1)]


def _mark_failed(client: MlflowClient, run_id: str) -> None:
    finish_run(client, run_id, RunStatus.FAILED, quietly=True)


def finish_run(client: MlflowClient, run_id: str, status: int, quietly: bool = False) -> None:
    """End a run. `quietly`: on the way out of a failure, when the server may be what failed
    and the error being raised says why, a failure to end the run is ignored."""
    # The client prints "View run ... at: <url>" to stdout when a run ends, and stdout is
    # where the CLI writes its JSON answer; the line goes to stderr instead.
    with contextlib.redirect_stdout(sys.stderr):
        if not quietly:
            client.set_terminated(run_id, RunStatus.to_string(status))
            return
        with contextlib.suppress(Exception):
            client.set_terminated(run_id, RunStatus.to_string(status))


def _millis() -> int:
    return int(time.time() * 1000)


def training_environment(family: str = "mlp") -> dict[str, str]:
    """Python and the family's library versions, and the device training ran on: PyTorch and
    CUDA for the MLP, scikit-learn and skl2onnx for the trees (which train on the CPU)."""
    if family == "gradient_boosting":
        from importlib.metadata import version

        return {
            "python": platform.python_version(),
            "scikit-learn": version("scikit-learn"),
            "skl2onnx": version("skl2onnx"),
            "device": "cpu",
            "gpu_count": "0",
            "platform": platform.platform(terse=True),
        }
    import torch

    cuda = torch.version.cuda or "none"  # pyright: ignore[reportAttributeAccessIssue]
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "cuda": str(cuda),
        "device": device,
        "gpu_count": str(torch.cuda.device_count()),
        "platform": platform.platform(terse=True),
    }
