"""Two models of different kinds on the embedded default: the MLP on Iris and the gradient-
boosted trees on Wine are trained, tracked, registered and promoted by the same CLI, and
served side by side by the same server code, each following its own signature: its fields in
the OpenAPI document, its classes in the answers, a 422 naming the field of its schema."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.conftest import API_KEY, run_cli
from tests.live_server import server_process
from tests.ports import free_port

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
# The first row of the packaged Wine data (cultivar_1).
WINE = dict(
    zip(
        (
            "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
            "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
            "od280_od315_of_diluted_wines", "proline",
        ),
        (14.23, 1.71, 2.43, 15.6, 127, 2.8, 3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065),
        strict=True,
    )
)  # fmt: skip
MODELS = {
    "iris": {"MLOPS_MODEL_FAMILY": "mlp", "MLOPS_PACKAGED_DATASET": "iris"},
    "wine": {"MLOPS_MODEL_FAMILY": "gradient_boosting", "MLOPS_PACKAGED_DATASET": "wine"},
}


@pytest.fixture
def model_names(
    bucket: str, tracking_server: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Names of this test's own (the session's tracking server outlives it)."""
    del bucket
    monkeypatch.setenv("MLOPS_TRACKING_URI", tracking_server)
    suffix = uuid.uuid4().hex[:8]
    return {kind: f"{kind}-{suffix}" for kind in MODELS}


def _train(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str, name: str
) -> dict[str, object]:
    with monkeypatch.context() as scoped:
        scoped.setenv("MLOPS_MODEL_NAME", name)
        for variable, value in MODELS[kind].items():
            scoped.setenv(variable, value)
        return run_cli(
            capsys, "train", "--data", "packaged", "--epochs", "40", "--grid", "8:0.05", "--promote"
        )


def _post(url: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/predict", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    )


def test_two_kinds_of_model_are_trained_registered_and_served_side_by_side(
    model_names: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for kind, name in model_names.items():
        outcome = _train(capsys, monkeypatch, kind, name)
        assert outcome["version"] == "1" and outcome["promoted"] is True, outcome

    port_iris, port_wine = free_port(), free_port()
    with (
        server_process(
            ["-m", "app", "serve", "--port", str(port_iris)], port_iris, "/readyz",
            env={"MLOPS_MODEL_NAME": model_names["iris"]},
        ),
        server_process(
            ["-m", "app", "serve", "--port", str(port_wine)], port_wine, "/readyz",
            env={"MLOPS_MODEL_NAME": model_names["wine"]},
        ),
    ):  # fmt: skip
        iris, wine = f"http://127.0.0.1:{port_iris}", f"http://127.0.0.1:{port_wine}"

        answer = _post(iris, {"features": SETOSA}).json()
        assert answer["model_name"] == model_names["iris"]
        assert answer["predictions"][0]["predicted_class"] == "setosa"
        answer = _post(wine, {"instances": [WINE, list(WINE.values())]}).json()
        assert answer["model_name"] == model_names["wine"]
        predicted = [p["predicted_class"] for p in answer["predictions"]]
        assert predicted == ["cultivar_1", "cultivar_1"]
        assert set(answer["predictions"][0]["probabilities"]) == {
            "cultivar_1", "cultivar_2", "cultivar_3",
        }  # fmt: skip

        # A bad request to either names the field of that model's schema.
        missing_width = {k: v for k, v in SETOSA.items() if k != "petal_width"}
        refused = _post(iris, {"features": missing_width})
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["loc"] == "body.features.petal_width"
        refused = _post(wine, {"features": {**WINE, "alcohol": "strong"}})
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["loc"] == "body.features.alcohol"
        refused = _post(wine, {"features": SETOSA})
        assert refused.status_code == 422
        assert "is not a feature of this model" in refused.json()["error"]["message"]

        # Each OpenAPI document describes its own model.
        for url, fields in ((iris, SETOSA), (wine, WINE)):
            schemas = httpx.get(f"{url}/openapi.json").json()["components"]["schemas"]
            named = next(s for s in schemas["ModelRow"]["oneOf"] if s["type"] == "object")
            assert named["required"] == list(fields)
