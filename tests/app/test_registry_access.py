"""S3 answers the registry cannot fix itself: a 403 names the permissions the role likely lacks,
a missing bucket is a setting to fix (not an empty registry), and a registration that cannot
claim a version number gives up at its deadline with a clear error.

S3 is stubbed (botocore's Stubber): LocalStack does not enforce IAM, so it never answers 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from app.errors import RegistryAccessDeniedError, RegistryUnavailableError
from app.registry import ModelMetadata, S3ModelRegistry
from app.serving.api import create_app
from tests.app.conftest import make_settings

BUCKET = "models-bucket"
ALIAS_KEY = "models/iris-classifier/aliases/production.json"


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _deny(stubber: Stubber, key: str) -> None:
    stubber.add_client_error(
        "get_object",
        service_error_code="AccessDenied",
        service_message="Access Denied",
        http_status_code=403,
        expected_params={"Bucket": BUCKET, "Key": key},
    )


def test_a_403_on_a_read_names_the_permissions_the_role_needs(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    _deny(stubber, ALIAS_KEY)
    registry = S3ModelRegistry(client, BUCKET, "iris-classifier")
    with pytest.raises(RegistryAccessDeniedError) as raised:
        registry.alias("production")
    message = str(raised.value)
    assert message.startswith(f"access denied reading s3://{BUCKET}/{ALIAS_KEY}: "), message
    assert "s3:GetObject on the key and s3:ListBucket on the bucket" in message


def test_a_pod_denied_its_alias_is_not_ready_and_says_access_denied(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    _deny(stubber, ALIAS_KEY)
    api = create_app(
        registry=S3ModelRegistry(client, BUCKET, "iris-classifier"), settings=make_settings()
    )
    with TestClient(api) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "access_denied"
    assert "s3:ListBucket" in error["message"]


def test_a_missing_bucket_is_not_mistaken_for_an_empty_registry(
    s3: tuple[Any, Stubber],
) -> None:
    client, stubber = s3
    stubber.add_client_error(
        "get_object",
        service_error_code="NoSuchBucket",
        service_message="The specified bucket does not exist",
        http_status_code=404,
    )
    api = create_app(
        registry=S3ModelRegistry(client, BUCKET, "iris-classifier"), settings=make_settings()
    )
    with TestClient(api) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "registry_unavailable"
    assert "check MLOPS_BUCKET" in error["message"]


def test_a_403_on_a_write_names_put_permissions(
    s3: tuple[Any, Stubber], trained: tuple[bytes, ModelMetadata]
) -> None:
    client, stubber = s3
    stubber.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)
    registry = S3ModelRegistry(client, BUCKET, "iris-classifier")
    with pytest.raises(RegistryUnavailableError, match="the role needs s3:PutObject"):
        registry.publish("1", *trained)


def test_an_artifact_too_large_for_the_pod_is_refused_before_it_is_read(
    s3: tuple[Any, Stubber], trained: tuple[bytes, ModelMetadata]
) -> None:
    """A model registered from a bigger training pod must not crash every serving replica:
    its size is checked from the response headers, and its body is never read."""
    from io import BytesIO

    from botocore.response import StreamingBody

    from app.errors import InvalidModelError

    client, stubber = s3
    _, meta = trained
    metadata_key = "models/iris-classifier/1/metadata.json"
    document = meta.model_copy(update={"version": "1"}).model_dump_json().encode()
    stubber.add_response(
        "get_object",
        {"Body": StreamingBody(BytesIO(document), len(document)), "ETag": '"m"'},
        {"Bucket": BUCKET, "Key": metadata_key},
    )

    class Unreadable(StreamingBody):
        def read(self, amt: int | None = None) -> bytes:
            raise AssertionError("the body of a too-large artifact was read")

    stubber.add_response(
        "get_object",
        {
            "Body": Unreadable(BytesIO(b""), 0),
            "ETag": '"a"',
            "ContentLength": 5_000_000_000,
        },
        {"Bucket": BUCKET, "Key": "models/iris-classifier/1/model.onnx"},
    )
    registry = S3ModelRegistry(client, BUCKET, "iris-classifier", max_artifact_bytes=256 << 20)
    with pytest.raises(InvalidModelError) as raised:
        registry.artifact("1")
    assert "5,000,000,000 bytes" in str(raised.value)
    assert "MLOPS_MEMORY_LIMIT_MIB" in str(raised.value)


def test_a_server_may_load_a_quarter_of_its_memory_limit() -> None:
    assert make_settings(memory_limit_mib=1024).max_model_bytes == 256 * 2**20
