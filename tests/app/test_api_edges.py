"""The API's answers at its edges: 405 with Allow, the 400 it documents, the docs UI off by
default (slow and oversized requests: test_server_limits, test_api)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.serving.api import create_app
from tests.app.conftest import API_KEY, MemoryRegistry, make_settings


def test_wrong_method_is_405_with_the_allowed_methods(client: TestClient) -> None:
    response = client.get("/v1/predict")
    assert response.status_code == 405
    assert response.headers.get("Allow") == "POST"
    assert response.json()["error"]["code"] == "http_error"


def test_a_body_that_is_not_utf8_is_400_with_the_error_body(client: TestClient) -> None:
    response = client.post(
        "/v1/predict", content=b"\x80\x81{}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/feedback"])
def test_the_400_is_documented(client: TestClient, path: str) -> None:
    responses = client.get("/openapi.json").json()["paths"][path]["post"]["responses"]
    assert "400" in responses, sorted(responses)
    assert responses["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )


def test_docs_ui_is_off_by_default(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


@pytest.fixture
def docs_client(memory_registry: MemoryRegistry) -> Iterator[TestClient]:
    api = create_app(registry=memory_registry, settings=make_settings(docs_enabled=True))
    with TestClient(api) as test_client:
        test_client.headers["Authorization"] = f"Bearer {API_KEY}"
        yield test_client


def test_docs_ui_is_served_when_enabled(docs_client: TestClient) -> None:
    response = docs_client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text
