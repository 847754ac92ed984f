"""Shadow scoring in the server: the rollout candidate answers live requests beside the served
version, its agreement is counted by version, and the client's answer never changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app import metrics
from app.registry import AliasRecord, ModelMetadata, ShadowRollout
from app.serving.api import create_app
from tests.app.conftest import API_KEY, MemoryRegistry, MemoryStore, make_settings, memory_capture
from tests.app.test_signature import PROBABILITIES, probabilities_graph, probabilities_metadata

SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [7.7, 3.0, 6.1, 2.3]


class ShadowRegistry(MemoryRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.shadow: str | None = None

    def alias(self, alias: str) -> tuple[AliasRecord, str]:
        record, etag = super().alias(alias)
        if self.shadow is None:
            return record, etag
        started = ShadowRollout(version=self.shadow, started_at=datetime.now(UTC))
        return record.model_copy(update={"shadow": started}), etag


@pytest.fixture
def registry(trained: tuple[bytes, ModelMetadata]) -> ShadowRegistry:
    artifact, meta = trained
    registry = ShadowRegistry()
    registry.add("1", artifact, meta)
    registry.add("2", artifact, meta)  # the same model: agrees on every row
    # The same graph with its classes named in reverse: disagrees wherever the answer is not
    # the middle class.
    registry.add("3", artifact, meta.model_copy(update={"class_names": meta.class_names[::-1]}))
    other = probabilities_graph()
    registry.add("4", other, probabilities_metadata(other, PROBABILITIES))  # other features
    registry.production = "1"
    return registry


@pytest.fixture
def client(registry: ShadowRegistry) -> Iterator[TestClient]:
    api = create_app(registry, make_settings(), memory_capture(MemoryStore()))
    with TestClient(api) as test_client:
        test_client.headers["Authorization"] = f"Bearer {API_KEY}"
        yield test_client


def _count(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def _comparisons(version: str, outcome: str) -> float:
    return _count(
        "mlops_shadow_comparisons_total",
        model_version=version,
        served_version="1",
        outcome=outcome,
    )


def _start(client: TestClient, registry: ShadowRegistry, version: str | None) -> None:
    registry.shadow = version
    client.app.state.serving.holder.refresh()  # type: ignore[attr-defined]


def test_an_agreeing_shadow_is_counted_and_the_answer_is_the_served_versions(
    client: TestClient, registry: ShadowRegistry
) -> None:
    before = client.post("/v1/predict", json={"instances": [SETOSA, VIRGINICA]}).json()
    served_before = _count("mlops_predictions_total", model_version="2", predicted_class="setosa")
    agreed = _comparisons("2", "agree")
    _start(client, registry, "2")
    assert _count("mlops_shadow_version_info", model_version="2") == 1
    after = client.post("/v1/predict", json={"instances": [SETOSA, VIRGINICA]}).json()
    assert after["model_version"] == "1"
    assert [p["probabilities"] for p in after["predictions"]] == [
        p["probabilities"] for p in before["predictions"]
    ]
    assert _comparisons("2", "agree") == agreed + 2
    # The shadow's answers are comparisons, never served predictions.
    assert (
        _count("mlops_predictions_total", model_version="2", predicted_class="setosa")
        == served_before
    )


def test_a_disagreeing_shadow_is_counted_as_disagreement(
    client: TestClient, registry: ShadowRegistry
) -> None:
    disagreed = _comparisons("3", "disagree")
    _start(client, registry, "3")
    client.post("/v1/predict", json={"instances": [SETOSA, VIRGINICA]})
    assert _comparisons("3", "disagree") == disagreed + 2


def test_a_shadow_that_cannot_take_the_requests_counts_errors_and_answers_nothing(
    client: TestClient, registry: ShadowRegistry
) -> None:
    errors = _count("mlops_shadow_errors_total", model_version="4", stage="predict")
    _start(client, registry, "4")
    response = client.post("/v1/predict", json={"features": SETOSA})
    assert response.status_code == 200 and response.json()["model_version"] == "1"
    assert _count("mlops_shadow_errors_total", model_version="4", stage="predict") == errors + 1


def test_a_shadow_that_cannot_be_loaded_counts_a_load_error(
    client: TestClient, registry: ShadowRegistry
) -> None:
    errors = _count("mlops_shadow_errors_total", model_version="9", stage="load")
    _start(client, registry, "9")  # no such version
    assert _count("mlops_shadow_errors_total", model_version="9", stage="load") == errors + 1
    assert client.post("/v1/predict", json={"features": SETOSA}).status_code == 200


def test_the_shadow_stops_when_the_rollout_ends(
    client: TestClient, registry: ShadowRegistry
) -> None:
    _start(client, registry, "2")
    _start(client, registry, None)
    agreed = _comparisons("2", "agree")
    client.post("/v1/predict", json={"features": SETOSA})
    assert _comparisons("2", "agree") == agreed
    assert _count("mlops_shadow_version_info", model_version="2") == 0


def test_a_batch_counts_its_rows_as_comparisons_and_once_as_a_request(
    client: TestClient, registry: ShadowRegistry
) -> None:
    _start(client, registry, "2")
    requests = _count("mlops_shadow_requests_total", model_version="2", served_version="1")
    client.post("/v1/predict", json={"instances": [SETOSA, VIRGINICA, SETOSA]})
    after = _count("mlops_shadow_requests_total", model_version="2", served_version="1")
    assert after == requests + 1


def test_a_rollout_started_again_begins_from_nothing(
    client: TestClient, registry: ShadowRegistry
) -> None:
    # Version 9 does not exist: its rollout fails to load and is ended; when a rollout of
    # the same version starts again on this server, the old failures must not count.
    _start(client, registry, "9")
    assert _count("mlops_shadow_errors_total", model_version="9", stage="load") >= 1
    _start(client, registry, None)
    assert _count("mlops_shadow_errors_total", model_version="9", stage="load") == 0
    _start(client, registry, "2")
    client.post("/v1/predict", json={"features": SETOSA})
    _start(client, registry, None)
    assert _count("mlops_shadow_requests_total", model_version="2", served_version="1") == 0
    assert _comparisons("2", "agree") == 0
