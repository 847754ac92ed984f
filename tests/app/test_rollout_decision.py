"""The rollout decision (app.rollout.judge) and its evidence from Prometheus' query API."""

from __future__ import annotations

import json
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from app.registry import S3ModelRegistry
from app.rollout import (
    Evidence,
    PrometheusEvidence,
    RolloutEvidenceError,
    RolloutPolicy,
    judge,
)
from app.rollout_command import registry_for_rollout
from app.settings import Settings

POLICY = RolloutPolicy(
    hold_seconds=600, min_agreement=0.9, min_comparisons=100, timeout_seconds=3600
)


@pytest.mark.parametrize(
    ("evidence", "elapsed", "action", "fragment"),
    [
        (Evidence(95, 5, 0, 100), 600, "promote", "held for 600s"),
        (Evidence(90, 10, 0, 100), 600, "promote", "0.900"),  # exactly the floor holds
        (Evidence(95, 5, 0, 100), 599, "hold", "599s of the 600s hold"),
        (Evidence(89, 11, 0, 100), 60, "rollback", "below 0.9 over 100 live rows of 100"),
        (Evidence(10, 40, 0, 50), 60, "hold", "50 of 100 live requests"),  # too few to judge
        (Evidence(10, 40, 0, 50), 3600, "rollback", "not enough traffic"),
        (Evidence(1000, 0, 1, 1000), 5, "rollback", "failed 1 time"),
        (Evidence(0, 0, 0, 0), 0, "hold", "0 of 100"),
        # Many rows in few requests (one client's batches) are not enough evidence.
        (Evidence(5000, 0, 0, 2), 3599, "hold", "2 of 100 live requests"),
    ],
)
def test_judge(evidence: Evidence, elapsed: float, action: str, fragment: str) -> None:
    got, reason = judge(POLICY, evidence, elapsed)
    assert got == action, reason
    assert fragment in reason


class _Prometheus(BaseHTTPRequestHandler):
    queries: ClassVar[list[str]] = []
    answers: ClassVar[dict[str, object]] = {}

    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["query"][0]
        type(self).queries.append(query)
        key = next(k for k in ("errors", "requests", "comparisons") if k in query)
        body = json.dumps(type(self).answers[key]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: no request lines
        del format, args


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Prometheus.queries = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _vector(*samples: tuple[dict[str, str], str]) -> dict[str, object]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": labels, "value": [1.0, value]} for labels, value in samples],
        },
    }


def test_prometheus_evidence_counts_the_rollouts_version_over_its_lifetime(
    prometheus: str,
) -> None:
    _Prometheus.answers = {
        "comparisons": _vector(({"outcome": "agree"}, "412.5"), ({"outcome": "disagree"}, "7")),
        "errors": _vector(),
        "requests": _vector(({}, "120")),
    }
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    got = PrometheusEvidence(prometheus).evidence(
        "wine-classifier", "7", now - timedelta(minutes=30), now
    )
    assert got == Evidence(agreed=412.5, disagreed=7.0, errors=0.0, requests=120.0)
    comparisons = next(q for q in _Prometheus.queries if "comparisons" in q)
    assert 'model="wine-classifier",model_version="7"' in comparisons
    assert "[1800s]" in comparisons and "increase(" in comparisons


def test_prometheus_refusing_a_query_decides_nothing(prometheus: str) -> None:
    refused = {"status": "error", "error": "parse error"}
    _Prometheus.answers = {"comparisons": refused, "errors": refused, "requests": refused}
    now = datetime.now(UTC)
    with pytest.raises(RolloutEvidenceError, match="parse error; nothing was decided"):
        PrometheusEvidence(prometheus).evidence("m", "2", now, now)


def test_an_unreachable_prometheus_names_the_url_and_the_setting() -> None:
    now = datetime.now(UTC)
    with pytest.raises(RolloutEvidenceError) as caught:
        PrometheusEvidence("http://127.0.0.1:9", timeout=2).evidence("m", "2", now, now)
    assert "http://127.0.0.1:9" in str(caught.value)
    assert "MLOPS_PROMETHEUS_URL" in str(caught.value)


def test_the_serving_image_decides_on_the_bucket_without_a_tracking_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The rollout CronJob runs the serving image, which has no MLflow client, with the
    # tracking URI set: the decision must still run, on the bucket's alias alone.
    monkeypatch.setitem(sys.modules, "app.tracking.registry", None)  # import fails as there
    settings = Settings.model_validate(
        {
            "bucket": "b",
            "tracking_uri": "http://127.0.0.1:9",
            "s3_endpoint_url": "http://127.0.0.1:9",
        }
    )
    assert type(registry_for_rollout(settings)) is S3ModelRegistry
