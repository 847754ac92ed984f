"""Fixtures of the integration tests: a trained artifact and a model bucket as the infra
declares it, with the app's settings pointing at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from app.dataset import packaged_dataset_bytes, parse_csv
from app.registry import ModelMetadata
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
