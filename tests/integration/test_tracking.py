"""Training, registration and promotion on a real tracking server (MLflow, SQLite, artifacts in
the embedded S3), and serving without it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from app import data_versions
from app.cli import main
from app.dataset import packaged_dataset_bytes, parse_csv
from app.errors import (
    AliasConflictError,
    AppError,
    ArtifactIntegrityError,
    TrackingUnavailableError,
    VersionExistsError,
)
from app.registry import S3ModelRegistry
from app.tracking.registry import TrackedModelRegistry
from app.tracking.runs import LoggedRun, TrainingRecord, log_training
from app.training import pipeline
from app.training.candidates import Candidate, TrainConfig
from devtools import mlflow_server
from tests.conftest import EmbeddedAws
from tests.integration.conftest import API_KEY, error_line, run_cli, serve, tracked_registry
from tests.live_server import server_process
from tests.ports import free_port

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

EPOCHS = 20
DATASET_KEY = "datasets/iris/iris.csv"
SCHEMA_KEY = "datasets/iris/schema.json"
SETOSA = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
def record(training_record: TrainingRecord) -> TrainingRecord:
    return training_record


def _registry(uri: str, s3: Any, bucket: str, name: str) -> TrackedModelRegistry:
    return tracked_registry(uri, s3, bucket, name)


def _logged(registry: TrackedModelRegistry, record: TrainingRecord) -> LoggedRun:
    return log_training(registry.client, registry.tracking_uri, registry.model_name, record)


# -- what a training records ------------------------------------------------------------------
def test_a_training_is_tracked_with_its_candidates_data_code_and_artifact(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3 = embedded_aws.client("s3")
    run_cli(capsys, "data", "upload")
    grid = "8:0.05,16:0.02"
    outcome = run_cli(capsys, "train", "--epochs", str(EPOCHS), "--grid", grid, "--promote")
    assert (outcome["version"], outcome["promoted"]) == ("1", True), outcome

    client = MlflowClient(tracking_server)
    parent = client.get_run(outcome["run_id"])
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(child.data.params["hidden"] for child in children) == ["16", "8"]
    for child in children:
        assert child.info.status == "FINISHED"
        assert "holdout_accuracy" in child.data.metrics
        history = client.get_metric_history(child.info.run_id, "cv_train_loss")
        assert [point.step for point in history] == list(range(1, EPOCHS + 1))
    assert len(client.get_metric_history(parent.info.run_id, "epoch_train_loss")) == EPOCHS
    assert parent.data.metrics["accuracy"] == outcome["metrics"]["accuracy"]
    # Each candidate trained in a process of its own, and logged its own model.
    assert all(child.data.tags["artifact_sha256"] for child in children)

    # The code version: this checkout's commit (the image sets MLOPS_CODE_VERSION instead).
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert parent.data.tags["mlflow.source.git.commit"].startswith(head)
    assert parent.data.tags["env.torch"] == torch.__version__
    assert parent.data.tags["env.device"]

    # The dataset: its digest and the exact S3 object version read.
    raw = s3.head_object(Bucket=bucket, Key=DATASET_KEY)
    digest = data_versions.load(s3, bucket, "datasets/iris/").version.digest
    assert parent.inputs is not None
    (dataset_input,) = parent.inputs.dataset_inputs
    tags = {tag.key: tag.value for tag in dataset_input.tags}
    assert tags["sha256"] == digest
    schema = s3.head_object(Bucket=bucket, Key=SCHEMA_KEY)["VersionId"]
    manifest = client.download_artifacts(parent.info.run_id, "data/manifest.json")
    assert json.loads(Path(manifest).read_text()) == {
        DATASET_KEY: raw["VersionId"],
        SCHEMA_KEY: schema,
    }
    assert json.loads(dataset_input.dataset.source)["uri"] == f"s3://{bucket}/datasets/iris/"

    # The artifact (the winning candidate's), its sha256, the version's tags and the alias.
    version = client.get_model_version_by_alias(tracked_model, "production")
    winner = parent.data.tags["winning_candidate_run"]
    assert version.version == "1" and version.run_id == winner
    assert winner in {child.info.run_id for child in children}
    local = client.download_artifacts(winner, "model/model.onnx")
    sha = hashlib.sha256(Path(local).read_bytes()).hexdigest()
    assert parent.data.tags["artifact_sha256"] == sha
    assert version.tags["artifact_sha256"] == sha
    assert version.tags["dataset_sha256"] == digest
    assert float(version.tags["accuracy"]) == outcome["metrics"]["accuracy"]

    # What servers follow: the bucket's copy of that version.
    store = S3ModelRegistry(s3, bucket, tracked_model)
    assert store.alias("production")[0].version == "1"
    assert store.metadata("1").artifact_sha256 == sha


def test_models_list_shows_the_tracking_servers_versions_and_what_is_served(
    bucket: str, tracked_model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "data", "upload")
    run_cli(capsys, "train", "--epochs", str(EPOCHS), "--grid", "8:0.05", "--promote")
    run_cli(capsys, "train", "--epochs", str(EPOCHS), "--grid", "8:0.05", "--seed", "3")
    rows = run_cli(capsys, "models", "list")
    assert [(row["version"], row["served"], row["aliases"]) for row in rows] == [
        ("1", "production", ["production"]),
        ("2", "", []),
    ]
    assert all(row["status"] == "valid" and row["accuracy"] > 0 for row in rows)
    shown = run_cli(capsys, "models", "show")
    assert shown["version"] == "1" and shown["published"]["version"] == "1"


# -- bad input: the tracking server unreachable, a model that must not be registered ----------
def test_training_with_the_tracking_server_unreachable_fails_in_one_line_and_writes_nothing(
    embedded_aws: EmbeddedAws,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(capsys, "data", "upload")
    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLOPS_TRACKING_URI", uri)
    assert main(["train", "--epochs", str(EPOCHS)]) == 1
    line = error_line(capsys)
    assert uri in line and "unreachable" in line and "MLOPS_TRACKING_URI" in line
    listed = embedded_aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="models/")
    assert listed["KeyCount"] == 0


def test_a_tracking_uri_that_is_not_a_server_url_is_a_bad_setting(
    bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLOPS_TRACKING_URI", "sqlite:///mlruns.db")
    assert main(["models", "list"]) == 2
    assert "must be the tracking server's http(s):// URL" in error_line(capsys)


def test_non_finite_metrics_are_refused_before_registration_and_the_run_says_why(
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(capsys, "data", "upload")
    build = pipeline.build_metadata

    def diverged(*args: Any, **kwargs: Any) -> Any:
        meta = build(*args, **kwargs)
        return meta.model_copy(update={"metrics": {**meta.metrics, "accuracy": float("nan")}})

    monkeypatch.setattr(pipeline, "build_metadata", diverged)
    monkeypatch.setenv("MLOPS_PARALLEL_CANDIDATES", "1")  # in this process, where the patch is
    assert main(["train", "--epochs", str(EPOCHS), "--promote"]) == 1
    assert "accuracy=nan" in error_line(capsys)
    client = MlflowClient(tracking_server)
    assert client.search_model_versions(f"name='{tracked_model}'") == []
    experiment = client.get_experiment_by_name(tracked_model)
    assert experiment is not None
    refused = client.search_runs([experiment.experiment_id], "tags.registration_refused != ''")
    # Every candidate diverged (the default grid has three), and so the training (the parent
    # run) registered nothing.
    parents = [run for run in refused if "dataset_sha256" in run.data.tags]
    assert (len(refused), len(parents)) == (4, 1)
    assert all("accuracy=nan" in run.data.tags["registration_refused"] for run in refused)


# -- serving never depends on the tracking server ---------------------------------------------
def test_serving_keeps_going_and_new_servers_start_with_the_tracking_server_stopped(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracking_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A server of this test's own: stopping the session's would break the other tests.
    server = mlflow_server.start(
        s3_endpoint_url=embedded_aws.endpoint_url, bucket=tracking_bucket, state_dir=tmp_path
    )
    monkeypatch.setenv("MLOPS_TRACKING_URI", server.url)
    try:
        run_cli(capsys, "data", "upload")
        run_cli(capsys, "train", "--epochs", str(EPOCHS), "--grid", "8:0.05", "--promote")
    finally:
        mlflow_server.stop(server.pid)

    store = S3ModelRegistry(embedded_aws.client("s3"), bucket, "iris-classifier")
    with serve(store) as client:
        assert client.app.state.serving.holder.refresh() is False  # type: ignore[attr-defined]
        answer = client.post("/v1/predict", json={"features": SETOSA})
        assert answer.status_code == 200 and answer.json()["model_version"] == "1"

    port = free_port()
    with server_process(["-m", "app", "serve", "--port", str(port)], port, "/readyz"):
        import httpx

        answer = httpx.post(
            f"http://127.0.0.1:{port}/v1/predict",
            json={"features": SETOSA},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert answer.status_code == 200 and answer.json()["model_version"] == "1"

    # Training, which needs the tracking server, says so in one line.
    assert main(["train", "--epochs", str(EPOCHS)]) == 1
    assert server.url in error_line(capsys)


def test_the_serving_code_imports_no_tracking_client() -> None:
    probe = (
        "import sys, app.serving.api, app.serving.server, app.registry, app.rollout, "
        "app.rollout_command, app.batch; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'torch')))"
    )
    done = subprocess.run(
        [".venv/bin/python", "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# -- the registry's guarantees ---------------------------------------------------------------
def test_concurrent_registrations_all_get_distinct_versions(
    embedded_aws: EmbeddedAws, bucket: str, tracked_model: str, tracking_server: str, record: Any
) -> None:
    writers = 12
    registry = _registry(tracking_server, embedded_aws.client("s3"), bucket, tracked_model)
    run = _logged(registry, record)
    # A client each, like separate training jobs.
    registries = [
        _registry(tracking_server, embedded_aws.client("s3"), bucket, tracked_model)
        for _ in range(writers)
    ]
    barrier = threading.Barrier(writers)
    versions: dict[int, str] = {}
    failures: dict[int, str] = {}

    def register(writer: int) -> None:
        meta = record.metadata.model_copy(update={"code_version": f"writer-{writer}"})
        barrier.wait()
        try:
            versions[writer] = registries[writer].register(run, meta, record.artifact)
        except AppError as exc:
            failures[writer] = str(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sorted(versions.values(), key=int) == [str(v) for v in range(1, writers + 1)]
    for writer, version in versions.items():
        assert registry.version(version).tags["code_version"] == f"writer-{writer}"


def test_two_racing_promotions_cannot_both_win_and_the_alias_follows_the_winner(
    embedded_aws: EmbeddedAws, bucket: str, tracked_model: str, tracking_server: str, record: Any
) -> None:
    s3 = embedded_aws.client("s3")
    mine = _registry(tracking_server, s3, bucket, tracked_model)
    theirs = _registry(tracking_server, s3, bucket, tracked_model)
    run = _logged(mine, record)
    for _ in range(3):
        mine.register(run, record.metadata, record.artifact)
    mine.promote("1", "production")

    move = mine.store.set_alias

    def interleaved(alias: str, version: str, history: list[str], etag: str | None) -> None:
        # Between our read of the pointer and our write, another promotion moves it.
        theirs.promote("3", "production")
        move(alias, version, history, etag)

    mine.store.set_alias = interleaved  # type: ignore[method-assign]
    with pytest.raises(AliasConflictError):
        mine.promote("2", "production")
    assert mine.store.alias("production")[0].version == "3"
    assert mine.client.get_model_version_by_alias(tracked_model, "production").version == "3"


def test_rollback_restores_the_previous_version_in_the_bucket_and_the_tracking_server(
    embedded_aws: EmbeddedAws, bucket: str, tracked_model: str, tracking_server: str, record: Any
) -> None:
    registry = _registry(tracking_server, embedded_aws.client("s3"), bucket, tracked_model)
    run = _logged(registry, record)
    registry.register(run, record.metadata, record.artifact)
    registry.register(run, record.metadata, record.artifact)
    registry.promote("1", "production")
    registry.promote("2", "production")
    rolled = registry.rollback("production")
    assert rolled.version == "1"
    assert registry.client.get_model_version_by_alias(tracked_model, "production").version == "1"


def test_a_corrupt_artifact_on_the_tracking_server_is_never_promoted(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracking_bucket: str,
    tracked_model: str,
    tracking_server: str,
    record: Any,
) -> None:
    s3 = embedded_aws.client("s3")
    registry = _registry(tracking_server, s3, bucket, tracked_model)
    first = _logged(registry, record)
    registry.register(first, record.metadata, record.artifact)
    registry.promote("1", "production")
    second = _logged(registry, record)
    registry.register(second, record.metadata, record.artifact)
    stored = f"mlflow/{second.experiment_id}/{second.run_id}/artifacts/model/model.onnx"
    s3.put_object(Bucket=tracking_bucket, Key=stored, Body=b"tampered")

    with pytest.raises(ArtifactIntegrityError, match="does not match the version's tag"):
        registry.promote("2", "production", force=True)
    assert registry.store.alias("production")[0].version == "1"
    assert registry.store.list_versions() == ["1"]


def test_a_replaced_tracking_database_cannot_overwrite_a_published_version(
    embedded_aws: EmbeddedAws, bucket: str, tracked_model: str, tracking_server: str, record: Any
) -> None:
    s3 = embedded_aws.client("s3")
    registry = _registry(tracking_server, s3, bucket, tracked_model)
    # The bucket already serves a version 1 that is another model (an older database's).
    data = parse_csv(packaged_dataset_bytes())
    config = TrainConfig(epochs=EPOCHS, grid=(Candidate(hidden=4, learning_rate=0.05),))
    older = pipeline.train_to_artifact(data, config, "older", tracked_model)
    assert older is not None
    registry.store.create_version("1", *older)
    registry.register(_logged(registry, record), record.metadata, record.artifact)

    with pytest.raises(VersionExistsError, match="was its database replaced"):
        registry.promote("1", "production")
    assert registry.store.metadata("1").code_version == "older"


def test_an_alias_the_tracking_server_did_not_take_is_named_and_mirrored_on_the_next_promote(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    record: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = _registry(tracking_server, embedded_aws.client("s3"), bucket, tracked_model)
    registry.register(_logged(registry, record), record.metadata, record.artifact)
    set_alias = registry.client.set_registered_model_alias

    def refused(*args: Any) -> None:
        raise MlflowException("service unavailable")

    monkeypatch.setattr(registry.client, "set_registered_model_alias", refused)
    with pytest.raises(TrackingUnavailableError, match="servers already follow version 1"):
        registry.promote("1", "production")
    assert registry.store.alias("production")[0].version == "1"

    monkeypatch.setattr(registry.client, "set_registered_model_alias", set_alias)
    registry.promote("1", "production")
    assert registry.client.get_model_version_by_alias(tracked_model, "production").version == "1"
