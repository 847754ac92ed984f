"""Feedback on any replica, after restarts, for versions no longer served; forged ids refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app import metrics
from app.registry import ModelMetadata
from app.serving.prediction_ids import PredictionIds
from tests.app.conftest import (
    API_KEY,
    PREDICTION_ID_KEY,
    MemoryRegistry,
    MemoryStore,
    make_settings,
    memory_capture,
)
from tests.app.test_api import SETOSA

OTHER_KEY = "another-prediction-id-key-0123456789abcdef"


@contextmanager
def replica(registry: MemoryRegistry, **settings: object) -> Iterator[TestClient]:
    """One server process of the Deployment: its own state, the shared key and registry."""
    from app.serving.api import create_app

    api = create_app(
        registry=registry,
        settings=make_settings(**settings),
        capture_writer=memory_capture(MemoryStore()),
    )
    with TestClient(api) as client:
        client.headers["Authorization"] = f"Bearer {API_KEY}"
        yield client


def _predict_one(client: TestClient) -> dict[str, object]:
    response = client.post("/v1/predict", json={"features": SETOSA})
    assert response.status_code == 200, response.text
    return response.json()["predictions"][0]


def _count(version: str, predicted: str, true: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(
        "mlops_feedback_total",
        {
            "model_name": "iris-classifier",
            "model_version": version,
            "predicted_class": predicted,
            "true_class": true,
            "outcome": "correct" if predicted == true else "incorrect",
        },
    )


def _feedback(client: TestClient, prediction_id: object, label: str = "setosa") -> Response:
    return client.post("/v1/feedback", json={"prediction_id": prediction_id, "true_label": label})


def test_feedback_counts_on_a_replica_that_did_not_make_the_prediction(
    memory_registry: MemoryRegistry,
) -> None:
    with replica(memory_registry) as a, replica(memory_registry) as b:
        prediction = _predict_one(a)
        before = _count("1", "setosa", "versicolor") or 0.0
        answer = b.post(
            "/v1/feedback",
            json={"prediction_id": prediction["prediction_id"], "true_label": "versicolor"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predicted_class"] == "setosa"
        assert answer.json()["correct"] is False
        assert _count("1", "setosa", "versicolor") == before + 1


def test_feedback_counts_after_the_server_restarts(memory_registry: MemoryRegistry) -> None:
    with replica(memory_registry) as before_restart:
        prediction = _predict_one(before_restart)
    with replica(memory_registry) as after_restart:
        answer = after_restart.post(
            "/v1/feedback",
            json={"prediction_id": prediction["prediction_id"], "true_label": "setosa"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["correct"] is True


def test_a_label_for_a_version_no_longer_served_counts_against_that_version(
    memory_registry: MemoryRegistry, trained: tuple[bytes, ModelMetadata]
) -> None:
    with replica(memory_registry) as old:
        prediction = _predict_one(old)
    memory_registry.add("2", *trained)
    memory_registry.production = "2"
    with replica(memory_registry) as new:
        assert new.get("/readyz").json()["model_version"] == "2"
        before = _count("1", "setosa", "setosa") or 0.0
        answer = new.post(
            "/v1/feedback",
            json={"prediction_id": prediction["prediction_id"], "true_label": "setosa"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == "1"
        assert _count("1", "setosa", "setosa") == before + 1


def test_a_label_for_a_version_gone_from_the_registry_is_404_naming_it(
    memory_registry: MemoryRegistry,
) -> None:
    with replica(memory_registry) as client:
        answer = _feedback(client, _issued_by("5"))
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "model version 5, which is no longer in the registry" in message


def _issued_by(version: str, model_name: str = "iris-classifier") -> str:
    """An id as a replica serving `version` of `model_name` under the shared key issues it."""
    return PredictionIds(PREDICTION_ID_KEY.encode(), model_name).issue(version, 0, 0.0)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda pid: pid.replace(".0.", ".2.", 1), id="predicted class changed"),
        pytest.param(lambda pid: "p1.9" + pid[pid.index(".", 3) :], id="version changed"),
        pytest.param(lambda pid: pid[:-2] + ("AA" if pid[-2:] != "AA" else "BB"), id="tag"),
        pytest.param(lambda pid: pid.rpartition(".")[0], id="tag removed"),
        pytest.param(lambda pid: "0123456789abcdef0123456789abcdef", id="an old uuid id"),
    ],
)
def test_a_forged_or_altered_prediction_id_is_refused_naming_the_field(
    client: TestClient, tamper: Callable[[str], str]
) -> None:
    prediction = _predict_one(client)
    pid = str(prediction["prediction_id"])
    assert ".0." in pid, pid  # setosa is class 0: the first case changes it
    forged = tamper(pid)
    answer = client.post("/v1/feedback", json={"prediction_id": forged, "true_label": "setosa"})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_prediction_id"
    assert error["message"].startswith("prediction_id "), error


def test_an_id_signed_with_another_key_is_refused(memory_registry: MemoryRegistry) -> None:
    with replica(memory_registry, prediction_id_key=OTHER_KEY) as elsewhere:
        prediction = _predict_one(elsewhere)
    with replica(memory_registry) as here:
        answer = _feedback(here, prediction["prediction_id"])
    assert answer.status_code == 422


def test_an_id_of_another_model_is_refused(memory_registry: MemoryRegistry) -> None:
    other_model = _issued_by("1", model_name="fraud-detector")
    with replica(memory_registry) as here:
        answer = _feedback(here, other_model)
    assert answer.status_code == 422


def test_the_served_versions_counters_exist_before_its_first_label(
    memory_registry: MemoryRegistry, trained: tuple[bytes, ModelMetadata]
) -> None:
    """Prometheus's increase() cannot see a counter's first step: the series must be there,
    at 0, before a label arrives."""
    memory_registry.add("41", *trained)
    memory_registry.production = "41"
    with replica(memory_registry) as client:
        client.get("/metrics")
        assert _count("41", "virginica", "setosa") == 0.0
        assert _count("41", "setosa", "setosa") == 0.0
