"""POST /v1/predict's lane (app.serving.lane: a JSON body parsed and validated in one step,
answered without the framework's request path) answers exactly as the declared FastAPI route
does, for good and bad bodies alike.

A body sent as `application/json; charset=utf-8` takes the declared route; the same bytes as
`application/json` take the lane.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import json_pieces
from app.serving.routes.predictions import predict_response_json
from app.serving.schemas import Prediction, PredictRequest, PredictResponse

SETOSA = [5.1, 3.5, 1.4, 0.2]
NAMED = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
BODIES: list[bytes] = [
    json.dumps(body).encode()
    for body in (
        {"features": SETOSA},
        {"features": NAMED},
        {"instances": [SETOSA, NAMED, [6.3, 3.3, 6.0, 2.5]]},
        {"features": [5, 3, 1, 0]},
        {"features": SETOSA, "model_version": "1"},
        {"features": SETOSA, "model_version": "7"},
        {"features": [1.0, 2.0, 3.0]},
        {"features": ["5.1", 3.5, 1.4, 0.2]},
        {"features": [True, 3.5, 1.4, 0.2]},
        {"features": [1e39, 3.5, 1.4, 0.2]},
        {"features": {**NAMED, "colour": 1.0}},
        {"features": {"sepal_length": 5.1}},
        {"features": SETOSA, "instances": [SETOSA]},
        {},
        {"instances": []},
        {"instances": [SETOSA] * 9},
        {"features": SETOSA, "colour": "red"},
        {"features": "5.1,3.5"},
        {"features": None},
        [SETOSA],
        "features",
    )
] + [
    b'{"features": [NaN, 3.5, 1.4, 0.2]}',
    b'{"features": [5.1,',
    b'{"features": [1e400, 1, 1, 1]}',
    b'{"features": [5.1, 3.5, 1.4, 0.2], "features": [1, 2, 3, 4]}',
    b"",
    b"\xff\xfe",
    b"null",
]
ID = re.compile(r"p1\.[^\"]+")


def _normalized(text: str) -> Any:
    return json.loads(ID.sub("<id>", text))


@pytest.mark.parametrize("body", BODIES, ids=lambda body: body[:40].decode("latin-1"))
def test_the_direct_path_answers_as_the_declared_route(client: TestClient, body: bytes) -> None:
    direct = client.post("/v1/predict", content=body, headers={"Content-Type": "application/json"})
    declared = client.post(
        "/v1/predict", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert direct.status_code == declared.status_code, (direct.text, declared.text)
    assert _normalized(direct.text) == _normalized(declared.text)
    assert direct.headers["content-type"] == declared.headers["content-type"]


def test_the_direct_path_is_taken_for_a_json_body(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[bytes] = []
    original = PredictRequest.model_validate_json

    def spy(data: bytes, **kwargs: Any) -> PredictRequest:
        parsed.append(data)
        return original(data, **kwargs)

    monkeypatch.setattr(PredictRequest, "model_validate_json", spy)
    body = json.dumps({"features": SETOSA}).encode()
    response = client.post(
        "/v1/predict", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert parsed == [body]


def test_the_direct_path_still_needs_the_api_key(client: TestClient) -> None:
    client.headers.pop("Authorization")
    response = client.post(
        "/v1/predict",
        content=json.dumps({"features": SETOSA}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_answer_is_the_response_models_own_json(client: TestClient) -> None:
    # The lane writes the JSON from plain values; it must be byte for byte what the declared
    # response model gives for the same content.
    for body in ({"features": SETOSA}, {"instances": [SETOSA, NAMED, [6.3, 3.3, 6.0, 2.5]]}):
        response = client.post("/v1/predict", json=body)
        assert response.status_code == 200
        parsed = PredictResponse.model_validate_json(response.content)
        assert parsed.model_dump_json().encode() == response.content


def test_two_authorization_headers_are_refused_whichever_holds_the_key(
    client: TestClient,
) -> None:
    # The gate and the route's scheme would read different ones: neither may decide.
    key = client.headers.pop("Authorization")
    for first, second in (
        (key, "Bearer wrong-key-0123456789"),
        ("Bearer wrong-key-0123456789", key),
    ):
        response = client.post(
            "/v1/predict",
            content=json.dumps({"features": SETOSA}),
            headers=[
                ("Content-Type", "application/json"),
                ("Authorization", first),
                ("Authorization", second),
            ],
        )
        assert response.status_code == 401
        assert "more than one Authorization header" in response.json()["error"]["message"]


def test_a_model_answering_non_finite_probabilities_is_a_server_error_not_bad_json(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JSON has no NaN: an answer holding one would be unreadable to every client.
    model = client.app.state.serving.holder.current  # type: ignore[attr-defined]
    monkeypatch.setattr(model, "predict", lambda rows: np.full((len(rows), 3), np.nan))
    counted = [counter._value.get() for counter in model.prediction_counters]
    with pytest.raises(ValueError, match="not a finite number"):
        client.post("/v1/predict", json={"features": SETOSA})
    # Refused before anything was counted as a prediction.
    assert [counter._value.get() for counter in model.prediction_counters] == counted


@pytest.mark.parametrize(
    ("model_name", "version", "classes"),
    [
        ("iris-classifier", "7", ("setosa", "versicolor", "virginica")),
        ("a%b", "7%s", ("100%", 'say "hi"', "back\\slash", "ünï", '","')),
    ],
)
def test_the_answer_written_in_pieces_is_the_response_models_json_for_any_names(
    model_name: str, version: str, classes: tuple[str, ...]
) -> None:
    # Names come from the model's metadata: whatever they hold, the bytes must be those of
    # the response model, and no "%" may be doubled or eaten by the template.
    ids = [f"p1.{version}.{i}.x.y.z" for i in range(3)]
    predicted = [0, len(classes) - 1, 1]
    probabilities = [
        [1 / len(classes)] * len(classes),
        [0.0] * (len(classes) - 1) + [1.0],
        [1e-300, 0.99999, *[-0.0] * (len(classes) - 2)],
    ]
    written = predict_response_json(
        model_name, version, classes, ids, predicted, json_pieces.number_rows(probabilities)
    )
    expected = PredictResponse(
        model_name=model_name,
        model_version=version,
        predictions=[
            Prediction(
                prediction_id=prediction_id,
                predicted_class=classes[cls],
                probabilities=dict(zip(classes, probs, strict=True)),
            )
            for prediction_id, cls, probs in zip(ids, predicted, probabilities, strict=True)
        ],
    )
    assert written == expected.model_dump_json().encode()
