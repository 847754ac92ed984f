"""Session-wide fixtures: the embedded AWS (LocalStack), AWS client helpers and the MLflow
tracking server on top of them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from devtools import localstack, mlflow_server
from tests.ports import free_port

REGION = "us-east-1"


@dataclass(frozen=True)
class EmbeddedAws:
    endpoint_url: str
    region: str = REGION

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture(scope="session")
def embedded_aws() -> Iterator[EmbeddedAws]:
    """LocalStack on a free loopback port for the whole session, stopped by PID at the end.

    Set MLOPS_TEST_AWS_ENDPOINT to reuse an already running LocalStack instead.
    """
    reuse = os.environ.get("MLOPS_TEST_AWS_ENDPOINT")
    if reuse:
        yield EmbeddedAws(reuse)
        return
    try:
        running = localstack.start(free_port())
    except localstack.LocalStackError as exc:
        pytest.fail(f"these tests need the embedded AWS: {exc}", pytrace=False)
    try:
        yield EmbeddedAws(running.endpoint_url)
    finally:
        localstack.stop(running.pid)


def model_bucket(embedded_aws: EmbeddedAws, prefix: str) -> str:
    """A new bucket made like the stack's model bucket: versioned, SSE-KMS with a customer
    key of its own (bucket keys on)."""
    s3 = embedded_aws.client("s3")
    key_id = embedded_aws.client("kms").create_key(Description=prefix)["KeyMetadata"]["KeyId"]
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
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
    return name


@pytest.fixture(scope="session")
def tracking_bucket(embedded_aws: EmbeddedAws) -> str:
    """The tracking server's artifact bucket, made like the stack's model bucket (which `make up`
    gives it)."""
    return model_bucket(embedded_aws, "tracking")


@pytest.fixture(scope="session")
def tracking_server(
    embedded_aws: EmbeddedAws, tracking_bucket: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of an MLflow tracking server for the whole session (SQLite in a temporary folder,
    artifacts under `mlflow/` in `tracking_bucket`), stopped by PID at the end. Mark its tests
    `localstack` (it needs the embedded AWS) and `slow`."""
    try:
        server = mlflow_server.start(
            s3_endpoint_url=embedded_aws.endpoint_url,
            bucket=tracking_bucket,
            state_dir=tmp_path_factory.mktemp("mlflow"),
        )
    except mlflow_server.TrackingServerError as exc:
        pytest.fail(f"these tests need the tracking server: {exc}", pytrace=False)
    try:
        yield server.url
    finally:
        mlflow_server.stop(server.pid)
