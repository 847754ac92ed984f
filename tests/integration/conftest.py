"""Fixtures of the integration tests: a trained artifact and a model bucket as the infra
declares it, with the app's settings pointing at it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.dataset import packaged_dataset_bytes, parse_csv
from app.registry import ModelMetadata, S3ModelRegistry
from app.serving.api import create_app
from app.settings import Settings
from app.tracking.connection import connect
from app.tracking.registry import TrackedModelRegistry
from app.tracking.runs import TrainingRecord, log_training
from app.training import pipeline
from app.training.candidates import Candidate, TrainConfig
from app.training.pipeline import train_to_artifact
from tests.conftest import EmbeddedAws, model_bucket

API_KEY = "integration-key-0123456789"


@pytest.fixture(scope="module")
def trained_artifact() -> tuple[bytes, ModelMetadata]:
    data = parse_csv(packaged_dataset_bytes())
    config = TrainConfig(epochs=60, grid=(Candidate(hidden=16, learning_rate=0.05),))
    result = train_to_artifact(data, config, "test", "iris-classifier")
    assert result is not None
    return result


@pytest.fixture
def bucket(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A model bucket as the infra declares it: versioned, SSE-KMS with a customer key."""
    name = model_bucket(embedded_aws, "models")
    for var, value in {
        "MLOPS_BUCKET": name,
        "MLOPS_S3_ENDPOINT_URL": embedded_aws.endpoint_url,
        "MLOPS_AWS_REGION": embedded_aws.region,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "MLOPS_API_KEYS": API_KEY,
        "MLOPS_PREDICTION_ID_KEY": "integration-prediction-id-key-0123456789",
        "MLOPS_POLL_INTERVAL_SECONDS": "3600",
        "MLOPS_DRIFT_WINDOW": "50",
    }.items():
        monkeypatch.setenv(var, value)
    yield name


@pytest.fixture
def promoted_registry(
    embedded_aws: EmbeddedAws, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> S3ModelRegistry:
    """A registry in the bucket with version 1 in production."""
    registry = S3ModelRegistry(embedded_aws.client("s3"), bucket, "iris-classifier")
    registry.create_version("1", *trained_artifact)
    registry.promote("1")
    return registry


@pytest.fixture
def tracked_model(bucket: str, tracking_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The bucket fixture's settings plus the session's tracking server, and a model name of
    this test's own: the server's registry outlives the test, its version numbers must not
    leak into the next one."""
    name = f"iris-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("MLOPS_TRACKING_URI", tracking_server)
    monkeypatch.setenv("MLOPS_MODEL_NAME", name)
    return name


@pytest.fixture(scope="module")
def training_record() -> TrainingRecord:
    """One small training, as the tracking server records it."""
    data = parse_csv(packaged_dataset_bytes())
    config = TrainConfig(epochs=60, grid=(Candidate(hidden=16, learning_rate=0.05),))
    dataset = pipeline.local_dataset(data, "packaged:iris.csv")
    record = pipeline.train_to_record(data, dataset, config, "test", "iris-classifier")
    assert record is not None
    return record


def tracked_registry(tracking_server: str, s3: Any, bucket: str, name: str) -> TrackedModelRegistry:
    return TrackedModelRegistry(
        connect(tracking_server), tracking_server, name, S3ModelRegistry(s3, bucket, name)
    )


@pytest.fixture
def promoted_versions(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    training_record: TrainingRecord,
) -> S3ModelRegistry:
    """Versions 1-3 registered on the tracking server (one run), version 1 in production;
    the deployment store is returned."""
    registry = tracked_registry(tracking_server, embedded_aws.client("s3"), bucket, tracked_model)
    run = log_training(registry.client, tracking_server, tracked_model, training_record)
    for _ in range(3):
        registry.register(run, training_record.metadata, training_record.artifact)
    registry.promote("1", "production")
    return registry.store


def serve(registry: S3ModelRegistry) -> TestClient:
    """The model server over `registry`, with the bucket fixture's settings and API key."""
    client = TestClient(create_app(registry=registry, settings=Settings()))
    client.headers["Authorization"] = f"Bearer {API_KEY}"
    return client


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """`python -m app ARGV` in this process; it must succeed; its JSON answer."""
    from app.cli import main

    assert main(list(argv)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The CLI's one `error:` line (stderr also carries the JSON log lines)."""
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    return errors[0]
