"""`/readyz` against the embedded S3: a first deploy (no alias object, S3 404) is ready and
picks up the first promotion; an alias that exists but cannot be loaded is not ready, with
the reason, so a rollout to a broken model never becomes Available."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from app.registry import ModelMetadata, S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import serve

pytestmark = pytest.mark.localstack

SETOSA = [5.1, 3.5, 1.4, 0.2]


def test_first_deploy_is_ready_before_any_promotion_and_serves_the_first_one(
    embedded_aws: EmbeddedAws, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    registry = S3ModelRegistry(embedded_aws.client("s3"), bucket, "iris-classifier")
    with serve(registry) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["message"].startswith("no model promoted yet")
        predicted = client.post("/v1/predict", json={"features": SETOSA})
        assert predicted.status_code == 503
        message = predicted.json()["error"]["message"]
        assert "no model has been promoted to alias 'production' yet" in message

        registry.create_version("1", *trained_artifact)
        registry.promote("1")
        assert client.app.state.serving.holder.refresh() is True  # type: ignore[attr-defined]
        assert client.get("/readyz").json() == {"status": "ready", "model_version": "1"}
        assert client.post("/v1/predict", json={"features": SETOSA}).status_code == 200


def test_an_alias_on_a_corrupt_artifact_keeps_a_new_pod_unready_with_the_reason(
    embedded_aws: EmbeddedAws, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    s3 = embedded_aws.client("s3")
    registry = S3ModelRegistry(s3, bucket, "iris-classifier")
    registry.create_version("1", *trained_artifact)
    s3.put_object(Bucket=bucket, Key="models/iris-classifier/1/model.onnx", Body=b"tampered")
    registry.set_alias("production", "1", [], None)  # as an older CLI without checks would
    with serve(registry) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "checksum_mismatch"
    assert "models/iris-classifier/1/model.onnx: sha256" in error["message"]


def test_an_unreachable_bucket_keeps_a_new_pod_unready(bucket: str) -> None:
    unreachable = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    with serve(S3ModelRegistry(unreachable, bucket, "iris-classifier")) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "registry_unavailable"
