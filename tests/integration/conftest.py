"""Fixtures of the integration tests: a trained artifact and a model bucket as the infra
declares it, with the app's settings pointing at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.dataset import packaged_dataset_bytes, parse_csv
from app.registry import ModelMetadata, S3ModelRegistry
from app.serving.api import create_app
from app.settings import Settings
from app.training.pipeline import train_to_artifact
from app.training.train import Candidate, TrainConfig
from tests.conftest import EmbeddedAws

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
    s3 = embedded_aws.client("s3")
    key_id = embedded_aws.client("kms").create_key(Description="model key")["KeyMetadata"]["KeyId"]
    name = f"models-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_id,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    for var, value in {
        "MLOPS_BUCKET": name,
        "MLOPS_S3_ENDPOINT_URL": embedded_aws.endpoint_url,
        "MLOPS_AWS_REGION": embedded_aws.region,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "MLOPS_API_KEYS": API_KEY,
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


def serve(registry: S3ModelRegistry) -> TestClient:
    """The model server over `registry`, with the bucket fixture's settings and API key."""
    client = TestClient(create_app(registry=registry, settings=Settings()))
    client.headers["Authorization"] = f"Bearer {API_KEY}"
    return client


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The CLI's one `error:` line (stderr also carries the JSON log lines)."""
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    return errors[0]
