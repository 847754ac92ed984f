"""One structured log line per request: what an operator correlates (route, status, latency,
model version, prediction ids), never what a client sent (inputs, API keys)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.logs import configure_logging
from app.serving.api import create_app
from tests.app.conftest import API_KEY, MemoryRegistry, make_settings

# Values no other part of a request log could contain by chance.
FEATURES = [5.123456, 3.654321, 1.414213, 0.271828]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="app.requests")
    yield caplog


def _client(registry: MemoryRegistry, **settings: object) -> TestClient:
    api = create_app(registry=registry, settings=make_settings(**settings))
    client = TestClient(api, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {API_KEY}"
    return client


def _request_lines(logs: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in logs.records if r.name == "app.requests"]


def test_a_prediction_logs_one_line_that_names_what_was_served(
    memory_registry: MemoryRegistry, logs: pytest.LogCaptureFixture
) -> None:
    with _client(memory_registry) as client:
        answer = client.post("/v1/predict", json={"instances": [FEATURES, FEATURES]}).json()
    (line,) = _request_lines(logs)
    fields = line.__dict__
    assert (fields["method"], fields["route"], fields["status"]) == ("POST", "/v1/predict", 200)
    assert fields["latency_ms"] > 0
    assert fields["model_version"] == answer["model_version"]
    assert fields["prediction_ids"] == [p["prediction_id"] for p in answer["predictions"]]


@pytest.fixture
def pod_logs() -> Iterator[io.StringIO]:
    """The pod's JSON logging, written to a buffer and undone afterwards (it replaces the
    root handlers)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG")
    buffer = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def test_request_lines_never_hold_inputs_or_keys(
    memory_registry: MemoryRegistry, pod_logs: io.StringIO
) -> None:
    """Rendered as the pod renders them (JSON lines), for good and rejected requests."""
    with _client(memory_registry) as client:
        client.post("/v1/predict", json={"instances": [FEATURES]})
        client.post("/v1/predict", json={"instances": [FEATURES[:3]]})  # 422
        client.post("/v1/feedback", json={"prediction_id": "x" * 32, "true_label": "setosa"})
    lines = [json.loads(line) for line in pod_logs.getvalue().splitlines()]
    requests = [line for line in lines if line.get("name") == "app.requests"]
    assert [r["status"] for r in requests] == [200, 422, 422]
    text = json.dumps(requests)
    assert API_KEY not in text
    assert not any(str(value) in text for value in FEATURES)


def test_sampling_drops_ordinary_lines_but_never_a_server_error(
    memory_registry: MemoryRegistry,
    logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _client(memory_registry, request_log_sample_rate=0.0) as client:
        assert client.post("/v1/predict", json={"instances": [FEATURES]}).status_code == 200
        assert not _request_lines(logs), "a sample rate of 0 still logged a 200"
        model = client.app.state.serving.holder.current  # type: ignore[attr-defined]

        def broken(rows: object) -> object:
            raise RuntimeError("inference failed")

        monkeypatch.setattr(model, "predict", broken)
        assert client.post("/v1/predict", json={"instances": [FEATURES]}).status_code == 500
    (line,) = _request_lines(logs)
    assert line.__dict__["status"] == 500
