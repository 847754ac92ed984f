"""`/readyz` and prediction errors when the alias's version is not served: ready on an empty
registry (a first deploy), not ready with the reason when the alias cannot be loaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app import metrics
from app.registry import ModelMetadata
from app.serving.api import create_app
from tests.app.conftest import API_KEY, MemoryRegistry, make_settings

SETOSA = [5.1, 3.5, 1.4, 0.2]


def _serve(registry: MemoryRegistry) -> TestClient:
    api = create_app(registry=registry, settings=make_settings())
    client = TestClient(api)
    client.headers["Authorization"] = f"Bearer {API_KEY}"
    return client


def _load_error(reason: str) -> float | None:
    return metrics.REGISTRY.get_sample_value("mlops_model_load_error", {"reason": reason})


@pytest.fixture
def empty_registry(trained: tuple[bytes, ModelMetadata]) -> MemoryRegistry:
    """Version 1 registered, nothing promoted: the registry of a first deploy."""
    registry = MemoryRegistry()
    registry.add("1", *trained)
    return registry


@pytest.fixture
def unpromoted(empty_registry: MemoryRegistry) -> Iterator[TestClient]:
    with _serve(empty_registry) as client:
        yield client


def test_an_empty_registry_is_ready_and_says_no_model_is_promoted(unpromoted: TestClient) -> None:
    response = unpromoted.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "no_model_promoted"
    assert body["message"].startswith("no model promoted yet"), body
    assert _load_error("no_model_promoted") == 1


def test_predictions_on_an_empty_registry_say_how_to_promote_one(unpromoted: TestClient) -> None:
    response = unpromoted.post("/v1/predict", json={"features": SETOSA})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "model_not_ready"
    assert "no model has been promoted to alias 'production' yet" in error["message"]
    assert "python -m app train --promote" in error["message"]


def test_a_model_promoted_later_is_picked_up_by_the_poll(
    empty_registry: MemoryRegistry, unpromoted: TestClient
) -> None:
    empty_registry.production = "1"
    assert unpromoted.app.state.serving.holder.refresh() is True  # type: ignore[attr-defined]
    assert unpromoted.get("/readyz").json() == {"status": "ready", "model_version": "1"}
    assert unpromoted.post("/v1/predict", json={"features": SETOSA}).status_code == 200
    assert _load_error("no_model_promoted") is None


def test_an_alias_on_a_corrupt_artifact_is_not_ready_and_says_why(
    empty_registry: MemoryRegistry, trained: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained
    empty_registry.add("2", artifact + b"tampered", meta)
    empty_registry.production = "2"
    with _serve(empty_registry) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "checksum_mismatch"
        assert "version 2" in error["message"]
        predicted = client.post("/v1/predict", json={"features": SETOSA})
        assert predicted.status_code == 503
        assert "sha256 mismatch" in predicted.json()["error"]["message"]
    assert _load_error("checksum_mismatch") == 1


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("class", "metadata lists 4 classes"),
        ("feature", "metadata lists 5 features"),
    ],
)
def test_metadata_that_disagrees_with_the_graph_is_refused_at_load(
    empty_registry: MemoryRegistry,
    trained: tuple[bytes, ModelMetadata],
    change: str,
    fragment: str,
) -> None:
    artifact, meta = trained
    if change == "class":
        bad = meta.model_copy(update={"class_names": [*meta.class_names, "extra"]})
    else:
        reference = {**meta.reference, "extra": meta.reference[meta.feature_names[0]]}
        bad = meta.model_copy(
            update={"feature_names": [*meta.feature_names, "extra"], "reference": reference}
        )
    empty_registry.add("2", artifact, bad)
    empty_registry.production = "2"
    with _serve(empty_registry) as client:
        response = client.get("/readyz")
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_model"
        assert fragment in error["message"]
        assert client.post("/v1/predict", json={"features": SETOSA}).status_code == 503


def test_a_bad_new_version_keeps_the_last_good_model_serving(
    memory_registry: MemoryRegistry, trained: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained
    memory_registry.add("2", artifact, meta.model_copy(update={"class_names": ["a", "b"]}))
    with _serve(memory_registry) as client:
        memory_registry.production = "2"
        assert client.app.state.serving.holder.refresh() is False  # type: ignore[attr-defined]
        ready = client.get("/readyz").json()
        assert (ready["status"], ready["model_version"], ready["reason"]) == (
            "ready",
            "1",
            "invalid_model",
        )
        predicted = client.post("/v1/predict", json={"features": SETOSA})
        assert predicted.json()["model_version"] == "1"
        memory_registry.production = "1"  # rolled back: the problem is gone
        client.app.state.serving.holder.refresh()  # type: ignore[attr-defined]
        assert client.get("/readyz").json() == {"status": "ready", "model_version": "1"}
