"""The HTTP API through TestClient: predictions, feedback, auth and every bad input."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from app import metrics

SETOSA = [5.1, 3.5, 1.4, 0.2]


def test_single_prediction_returns_a_class_and_probabilities(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"features": SETOSA})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == "1"
    (prediction,) = body["predictions"]
    assert prediction["predicted_class"] == "setosa"
    assert math.isclose(sum(prediction["probabilities"].values()), 1.0, rel_tol=1e-5)


def test_batch_prediction_answers_every_row(client: TestClient) -> None:
    rows = [SETOSA, [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
    response = client.post("/v1/predict", json={"instances": rows})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["predicted_class"] for p in predictions][:2] == ["setosa", "virginica"]
    assert len({p["prediction_id"] for p in predictions}) == 3


def _feedback_count(predicted: str, true: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value(
            "mlops_feedback_total",
            {
                "model_name": "iris-classifier",
                "model_version": "1",
                "predicted_class": predicted,
                "true_class": true,
                "outcome": "correct" if predicted == true else "incorrect",
            },
        )
        or 0.0
    )


def test_feedback_answers_the_label_as_counted_in_the_confusion_matrix(client: TestClient) -> None:
    ids = [
        p["prediction_id"]
        for p in client.post("/v1/predict", json={"instances": [SETOSA, SETOSA]}).json()[
            "predictions"
        ]
    ]
    right, wrong = _feedback_count("setosa", "setosa"), _feedback_count("setosa", "virginica")
    first = client.post("/v1/feedback", json={"prediction_id": ids[0], "true_label": "setosa"})
    second = client.post("/v1/feedback", json={"prediction_id": ids[1], "true_label": "virginica"})
    assert first.json() == {
        "prediction_id": ids[0],
        "model_version": "1",
        "predicted_class": "setosa",
        "true_label": "setosa",
        "correct": True,
    }
    assert second.json()["correct"] is False
    assert _feedback_count("setosa", "setosa") == right + 1
    assert _feedback_count("setosa", "virginica") == wrong + 1


def test_feedback_twice_for_one_prediction_is_409(client: TestClient) -> None:
    pid = client.post("/v1/predict", json={"features": SETOSA}).json()["predictions"][0]
    body = {"prediction_id": pid["prediction_id"], "true_label": "setosa"}
    assert client.post("/v1/feedback", json=body).status_code == 200
    before = _feedback_count("setosa", "setosa")
    again = client.post("/v1/feedback", json={**body, "true_label": "versicolor"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "feedback_already_counted"
    assert "prediction_id" in again.json()["error"]["message"]
    assert _feedback_count("setosa", "setosa") == before


def test_feedback_with_unknown_label_is_422(client: TestClient) -> None:
    pid = client.post("/v1/predict", json={"features": SETOSA}).json()["predictions"][0]
    response = client.post(
        "/v1/feedback", json={"prediction_id": pid["prediction_id"], "true_label": "rose"}
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "true_label 'rose'" in message and "setosa" in message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"features": [1.0, 2.0, 3.0]}, "expects 4"),
        ({"instances": [SETOSA, [1.0, 2.0]]}, "row 1 has 2 features"),
        ({"features": ["5.1", 3.5, 1.4, 0.2]}, "valid number"),
        ({"features": [True, 3.5, 1.4, 0.2]}, "valid number"),
        ({"features": [1e39, 3.5, 1.4, 0.2]}, "float32"),
        ({"features": SETOSA, "instances": [SETOSA]}, "exactly one"),
        ({}, "exactly one"),
        ({"instances": []}, "at least 1"),
        ({"instances": [SETOSA] * 9}, "limit is 8"),
        ({"features": SETOSA, "colour": "red"}, "Extra inputs"),
        ({"features": "5.1,3.5"}, "valid list"),
    ],
)
def test_bad_prediction_input_is_422_naming_the_problem(
    client: TestClient, body: dict[str, object], fragment: str
) -> None:
    response = client.post("/v1/predict", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert fragment in error["message"], error


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_422(client: TestClient, literal: str) -> None:
    response = client.post(
        "/v1/predict",
        content=f'{{"features": [{literal}, 3.5, 1.4, 0.2]}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "finite" in response.json()["error"]["message"]


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/predict", content=b'{"features": [5.1,', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "request body is not valid JSON"


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"instances": [SETOSA] * 400})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_unknown_model_version_is_404(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"features": SETOSA, "model_version": "99"})
    assert response.status_code == 404
    assert "serves version 1" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-key-0123456789abc", "Basic dXNlcjpwYXNz", "Bearer "]
)
def test_predict_without_a_valid_key_is_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    client.headers.pop("Authorization")
    response = client.post("/v1/predict", json={"features": SETOSA}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


def test_probes_and_metrics_need_no_key(client: TestClient) -> None:
    client.headers.pop("Authorization")
    assert client.get("/healthz").json() == {"status": "ok", "model_version": None}
    assert client.get("/readyz").json() == {"status": "ready", "model_version": "1"}
    assert "mlops_model_ready 1.0" in client.get("/metrics").text


def test_requests_are_counted_by_route_template(client: TestClient) -> None:
    before = metrics.REGISTRY.get_sample_value(
        "mlops_http_requests_total", {"route": "/v1/predict", "method": "POST", "status": "422"}
    )
    client.post("/v1/predict", json={})
    after = metrics.REGISTRY.get_sample_value(
        "mlops_http_requests_total", {"route": "/v1/predict", "method": "POST", "status": "422"}
    )
    assert (after or 0) - (before or 0) == 1


def test_drift_gauges_appear_after_predictions(client: TestClient) -> None:
    client.post("/v1/predict", json={"instances": [[7.9, 4.4, 6.9, 2.5]] * 8})
    client.get("/metrics")
    psi = metrics.REGISTRY.get_sample_value("mlops_feature_drift_psi", {"feature": "petal_length"})
    assert psi is not None and psi > 1.0
