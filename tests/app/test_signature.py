"""The server follows the served version's signature: named or positional rows, 422s naming
the field of that model's schema, its OpenAPI document, and a graph of another kind (its own
tensor names, probabilities instead of logits) served by the same code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper

from app import model_checks
from app.drift import build_reference
from app.errors import InvalidModelError
from app.registry import ModelMetadata, ModelSignature, new_metadata
from app.serving.api import create_app
from tests.app.conftest import (
    API_KEY,
    MemoryRegistry,
    MemoryStore,
    make_settings,
    memory_capture,
)

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
FEATURES = ("alcohol", "acidity", "colour")
CLASSES = ("low", "mid", "high")
WEIGHTS = np.asarray([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]], dtype=np.float32)


def probabilities_graph(input_name: str = "rows", output_name: str = "probs") -> bytes:
    """Another kind of graph: its own tensor names, and probabilities (a softmax inside)."""
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", [input_name, "weights"], ["scores"]),
            helper.make_node("Softmax", ["scores"], [output_name], axis=1),
        ],
        "probabilities",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, len(FEATURES)])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [None, len(CLASSES)])],
        initializer=[numpy_helper.from_array(WEIGHTS, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()


def probabilities_metadata(artifact: bytes, signature: ModelSignature) -> ModelMetadata:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(200, len(FEATURES)))
    return new_metadata(
        model_name="wine-quality",
        dataset_sha256="0" * 64,
        code_version="test",
        params={},
        metrics={"accuracy": 0.9},
        feature_names=list(FEATURES),
        class_names=list(CLASSES),
        reference={name: build_reference(reference[:, i]) for i, name in enumerate(FEATURES)},
        signature=signature,
    ).model_copy(update={"artifact_sha256": hashlib.sha256(artifact).hexdigest()})


PROBABILITIES = ModelSignature(
    family="hand-written", input_tensor="rows", output_tensor="probs", output_kind="probabilities"
)


@pytest.fixture
def other_kind() -> Iterator[TestClient]:
    """A server on the same code, serving the probabilities graph."""
    registry = MemoryRegistry()
    artifact = probabilities_graph()
    registry.add("3", artifact, probabilities_metadata(artifact, PROBABILITIES))
    registry.production = "3"
    api = create_app(registry, make_settings(), memory_capture(MemoryStore()))
    with TestClient(api) as test_client:
        test_client.headers["Authorization"] = f"Bearer {API_KEY}"
        yield test_client


def test_named_and_positional_rows_get_the_same_answer(client: TestClient) -> None:
    named = client.post("/v1/predict", json={"features": SETOSA})
    shuffled = dict(reversed(list(SETOSA.items())))
    batch = client.post("/v1/predict", json={"instances": [shuffled, list(SETOSA.values())]})
    assert named.status_code == 200 and batch.status_code == 200, batch.text
    answers = [p["probabilities"] for p in batch.json()["predictions"]]
    assert answers[0] == answers[1] == named.json()["predictions"][0]["probabilities"]


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        (
            {"features": {k: v for k, v in SETOSA.items() if k != "petal_width"}},
            "body.features.petal_width",
            "missing",
        ),
        ({"features": {**SETOSA, "colour": 1.0}}, "body.features.colour", "not a feature"),
        (
            {"instances": [SETOSA, {**SETOSA, "petal_width": "wide"}]},
            "body.instances.1.petal_width",
            "valid number",
        ),
        ({"instances": [SETOSA, [1.0, 2.0]]}, "body.instances.1", "expects 4"),
        ({"features": {**SETOSA, "sepal_width": 1e39}}, "body.features.sepal_width", "float32"),
    ],
)
def test_a_bad_row_is_422_naming_the_field_of_the_models_schema(
    client: TestClient, body: dict[str, object], loc: str, fragment: str
) -> None:
    response = client.post("/v1/predict", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert loc in [detail["loc"] for detail in error["details"]], error
    assert fragment in error["message"], error


def test_the_openapi_document_describes_the_served_signature(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    row = document["components"]["schemas"]["ModelRow"]
    named = next(shape for shape in row["oneOf"] if shape["type"] == "object")
    assert named["required"] == list(SETOSA)
    assert named["additionalProperties"] is False
    prediction = document["components"]["schemas"]["Prediction"]["properties"]
    assert prediction["predicted_class"]["enum"] == ["setosa", "versicolor", "virginica"]
    assert "iris-classifier version 1" in document["info"]["description"]


def test_another_kind_of_graph_is_served_by_the_same_code(other_kind: TestClient) -> None:
    row = {"alcohol": 2.0, "acidity": 0.0, "colour": -1.0}
    response = other_kind.post("/v1/predict", json={"features": row})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model_name"] == "wine-quality" and answer["model_version"] == "3"
    scores = np.asarray([2.0, 0.0, -1.0], dtype=np.float32) @ WEIGHTS
    expected = np.exp(scores) / np.exp(scores).sum()  # the graph's own softmax, not applied twice
    got = answer["predictions"][0]["probabilities"]
    assert list(got) == list(CLASSES)
    assert np.allclose([got[c] for c in CLASSES], expected, atol=1e-6)
    assert answer["predictions"][0]["predicted_class"] == "low"

    refused = other_kind.post("/v1/predict", json={"features": {"alcohol": 1.0, "acidity": 2.0}})
    assert refused.status_code == 422
    assert "body.features.colour" in [d["loc"] for d in refused.json()["error"]["details"]]
    document = other_kind.get("/openapi.json").json()
    assert document["components"]["schemas"]["Prediction"]["properties"]["predicted_class"][
        "enum"
    ] == list(CLASSES)


@pytest.mark.parametrize(
    ("signature", "fragment"),
    [
        (ModelSignature(input_tensor="input", output_tensor="probs"), "names input 'input'"),
        (ModelSignature(input_tensor="rows", output_tensor="scores"), "output 'scores'"),
        (
            ModelSignature(input_tensor="rows", output_tensor="probs", output_kind="logits"),
            None,  # probabilities read as logits still load: a softmax of them is valid
        ),
    ],
)
def test_a_signature_the_graph_does_not_answer_is_refused_naming_both(
    signature: ModelSignature, fragment: str | None
) -> None:
    artifact = probabilities_graph()
    meta = probabilities_metadata(artifact, signature)
    if fragment is None:
        model_checks.open_session(artifact, meta, "v", "fix")
        return
    with pytest.raises(InvalidModelError) as caught:
        model_checks.open_session(artifact, meta, "wine-quality version 3", "fix it")
    assert fragment in str(caught.value) and "fix it" in str(caught.value)


def test_scores_declared_as_probabilities_are_refused() -> None:
    # A graph answering raw scores (no softmax) whose signature claims probabilities would
    # serve numbers that are not probabilities.
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["rows", "weights"], ["probs"])],
        "scores",
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [None, len(FEATURES)])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [None, len(CLASSES)])],
        initializer=[numpy_helper.from_array(WEIGHTS * 0 + 1, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    artifact = model.SerializeToString()
    with pytest.raises(InvalidModelError, match="declared as probabilities"):
        model_checks.open_session(
            artifact, probabilities_metadata(artifact, PROBABILITIES), "v", "fix"
        )


def test_versions_registered_before_signatures_load_as_the_mlp_contract(
    trained: tuple[bytes, ModelMetadata],
) -> None:
    artifact, meta = trained
    stored = meta.model_dump(mode="json")
    stored.pop("signature")
    old = ModelMetadata.model_validate(stored)
    assert old.signature == ModelSignature(input_tensor="input", output_tensor="logits")
    session = model_checks.open_session(artifact, old, "v", "fix")
    assert session.class_probabilities(np.zeros((2, 4), dtype=np.float32)).shape == (2, 3)


def test_a_feature_name_that_is_not_valid_unicode_is_a_422_not_a_500(client: TestClient) -> None:
    others = '"sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2'
    body = '{"features": {"\\ud800": 1.0, ' + others + "}}"
    for content_type in ("application/json", "application/json; charset=utf-8"):
        response = client.post("/v1/predict", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 422, response.text
        assert "body.features.\\ud800" in [d["loc"] for d in response.json()["error"]["details"]]
