"""`infra_tools verify --app-url`: a deployed server must be ready and answer a prediction; a first
deploy whose first model is still training is healthy, not a failed deploy to roll back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.serving.schemas import Readiness
from infra_tools.verify import check_app

Answers = dict[str, tuple[int, str]]


@pytest.fixture
def server() -> Iterator[tuple[str, Answers]]:
    answers: Answers = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, body = answers[self.path]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = _answer  # noqa: N815
        do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", answers
    httpd.shutdown()
    httpd.server_close()


def _ready(status: str) -> str:
    return Readiness.model_validate({"status": status}).model_dump_json()


def test_a_serving_model_passes(server: tuple[str, Answers]) -> None:
    url, answers = server
    answers["/readyz"] = (200, _ready("ready"))
    answers["/v1/predict"] = (200, json.dumps({"predictions": []}))
    assert check_app(url, "key") == []


def test_a_first_deploy_still_training_its_first_model_passes(
    server: tuple[str, Answers],
) -> None:
    url, answers = server
    answers["/readyz"] = (200, _ready("no_model_promoted"))
    answers["/v1/predict"] = (503, json.dumps({"error": {"code": "model_not_ready"}}))
    assert check_app(url, "key", no_model_yet_is_healthy=True) == []


def test_no_promoted_model_outside_a_first_training_is_a_mismatch(
    server: tuple[str, Answers],
) -> None:
    """A misspelled or deleted alias: the pods are ready, every prediction is a 503."""
    url, answers = server
    answers["/readyz"] = (200, _ready("no_model_promoted"))
    answers["/v1/predict"] = (503, json.dumps({"error": {"code": "model_not_ready"}}))
    (problem,) = check_app(url, "key")
    assert "promoted model" in str(problem)


@pytest.mark.parametrize(
    ("readyz", "predict", "failing"),
    [
        ((503, "{}"), (503, "{}"), "GET /readyz"),
        ((200, '{"status": "ready"}'), (500, "boom"), "POST /v1/predict"),
    ],
)
def test_an_unready_or_failing_server_is_a_mismatch(
    server: tuple[str, Answers], readyz: tuple[int, str], predict: tuple[int, str], failing: str
) -> None:
    url, answers = server
    answers["/readyz"], answers["/v1/predict"] = readyz, predict
    problems = check_app(url, "key")
    assert any(failing in str(problem) for problem in problems), problems
