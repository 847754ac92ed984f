"""Captures: every prediction and label reaches the bucket in the documented layout, off the
request path; a slow or unreachable bucket costs captures (counted), never a prediction."""

from __future__ import annotations

import gzip
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app import metrics
from app.capture import layout
from app.capture.layout import PredictionRecord
from app.capture.writer import CaptureLimits, CaptureWriter, PredictionBatch
from app.serving.api import create_app
from tests.app.conftest import API_KEY, MemoryRegistry, MemoryStore, make_settings, memory_capture
from tests.app.test_api import SETOSA

VIRGINICA = [6.7, 3.0, 5.2, 2.3]
KEY_PATTERN = re.compile(
    r"^captures/iris-classifier/(predictions|labels)/date=\d{4}-\d{2}-\d{2}/"
    r"\d{2}-test-pod-0000-\d{6}\.jsonl\.gz$"
)


@contextmanager
def serving(
    registry: MemoryRegistry, writer: CaptureWriter | None, **settings: object
) -> Iterator[TestClient]:
    api = create_app(registry=registry, settings=make_settings(**settings), capture_writer=writer)
    with TestClient(api) as client:
        client.headers["Authorization"] = f"Bearer {API_KEY}"
        yield client


def _dropped(reason: str, stream: str = "predictions") -> float:
    value = metrics.REGISTRY.get_sample_value(
        "mlops_capture_records_dropped_total", {"stream": stream, "reason": reason}
    )
    return value or 0.0


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"not within {seconds} s")


def test_predictions_and_labels_reach_the_bucket_in_the_documented_layout(
    memory_registry: MemoryRegistry, capture_store: MemoryStore
) -> None:
    with serving(memory_registry, memory_capture(capture_store)) as client:
        answer = client.post("/v1/predict", json={"instances": [SETOSA, VIRGINICA]}).json()
        first = answer["predictions"][0]
        client.post(
            "/v1/feedback", json={"prediction_id": first["prediction_id"], "true_label": "setosa"}
        )
        assert capture_store.objects == {}, "uploaded on the request path"
    # The app's shutdown uploads what the writer held.
    assert capture_store.objects and all(KEY_PATTERN.match(k) for k in capture_store.objects)
    predictions = capture_store.records("predictions")
    assert [r["prediction_id"] for r in predictions] == [
        p["prediction_id"] for p in answer["predictions"]
    ]
    record = predictions[0]
    assert record["model_name"] == "iris-classifier" and record["model_version"] == "1"
    assert record["inputs"] == dict(
        zip(["sepal_length", "sepal_width", "petal_length", "petal_width"], SETOSA, strict=True)
    )
    assert record["predicted_class"] == first["predicted_class"]
    assert record["probabilities"] == first["probabilities"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", str(record["time"]))
    (label,) = capture_store.records("labels")
    assert label == {
        "prediction_id": first["prediction_id"],
        "time": label["time"],
        "model_name": "iris-classifier",
        "model_version": "1",
        "predicted_class": first["predicted_class"],
        "true_label": "setosa",
    }


def test_captures_are_uploaded_by_size_while_serving(
    memory_registry: MemoryRegistry, capture_store: MemoryStore
) -> None:
    limits = CaptureLimits(flush_records=4, flush_seconds=3600, poll_seconds=0.01)
    with serving(memory_registry, memory_capture(capture_store, limits)) as client:
        client.post("/v1/predict", json={"instances": [SETOSA] * 4})
        _wait_for(lambda: len(capture_store.records("predictions")) == 4)


def test_captures_are_uploaded_by_age_while_serving(
    memory_registry: MemoryRegistry, capture_store: MemoryStore
) -> None:
    limits = CaptureLimits(flush_records=1000, flush_seconds=0.05, poll_seconds=0.01)
    with serving(memory_registry, memory_capture(capture_store, limits)) as client:
        client.post("/v1/predict", json={"features": SETOSA})
        _wait_for(lambda: len(capture_store.records("predictions")) == 1)


def test_an_unreachable_bucket_costs_captures_not_predictions(
    memory_registry: MemoryRegistry,
) -> None:
    """The real S3 writer against an endpoint where nothing listens."""
    before = _dropped("write_failed")
    with serving(memory_registry, None) as client:
        for _ in range(3):
            response = client.post("/v1/predict", json={"instances": [SETOSA, VIRGINICA]})
            assert response.status_code == 200, response.text
    assert _dropped("write_failed") == before + 6


def test_a_full_queue_drops_and_counts_and_stays_within_its_bound(
    memory_registry: MemoryRegistry, capture_store: MemoryStore
) -> None:
    capture_store.delay = 0.5  # a slow bucket: the thread is stuck in its first upload
    limits = CaptureLimits(max_records=6, flush_records=2, flush_seconds=3600, poll_seconds=0.01)
    writer = memory_capture(capture_store, limits)
    before = _dropped("queue_full")
    with serving(memory_registry, writer) as client:
        for _ in range(20):
            response = client.post("/v1/predict", json={"instances": [SETOSA, VIRGINICA]})
            assert response.status_code == 200, response.text
            assert writer.held <= 6
    written = len(capture_store.records("predictions"))
    assert _dropped("queue_full") - before == 40 - written > 0


def test_sampling_keeps_that_share_of_predictions_and_every_label(
    memory_registry: MemoryRegistry, capture_store: MemoryStore
) -> None:
    writer = CaptureWriter(
        capture_store, "iris-classifier", sample_rate=0.0, writer="test-pod-0000"
    )
    with serving(memory_registry, writer) as client:
        pid = client.post("/v1/predict", json={"features": SETOSA}).json()["predictions"][0]
        client.post(
            "/v1/feedback", json={"prediction_id": pid["prediction_id"], "true_label": "setosa"}
        )
    assert capture_store.records("predictions") == []
    assert len(capture_store.records("labels")) == 1


def test_the_apps_writer_samples_at_the_configured_rate(memory_registry: MemoryRegistry) -> None:
    api = create_app(registry=memory_registry, settings=make_settings(capture_sample_rate=0.25))
    with TestClient(api):
        assert api.state.serving.capture.sample_rate == 0.25


def test_keys_of_two_pods_or_two_starts_of_one_pod_never_collide() -> None:
    assert layout.writer_id("model-server-abc") != layout.writer_id("model-server-abc")
    assert layout.writer_id("Model_Server.7").startswith("model-server-7-")


@pytest.mark.parametrize(("flush", "most"), [(0, 10), (11, 10)])
def test_limits_that_cannot_work_are_refused(flush: int, most: int) -> None:
    with pytest.raises(ValueError, match="flush_records"):
        CaptureLimits(max_records=most, flush_records=flush)


def test_a_record_that_cannot_be_written_is_dropped_and_the_writer_goes_on(
    capture_store: MemoryStore,
) -> None:
    writer = memory_capture(capture_store)
    before = _dropped("encode_failed")

    def batch(probability: float, at: float) -> PredictionBatch:
        return PredictionBatch(
            time=at,
            model_version="1",
            feature_names=("x",),
            class_names=("a",),
            ids=["id"],
            rows=[[1.0]],
            probabilities=[[probability]],
            predicted=[0],
        )

    writer.start()
    writer.capture_predictions(batch(float("nan"), at=0.0))  # JSON has no NaN
    writer.capture_predictions(batch(1.0, at=7200.0))  # another hour: another object
    writer.close()
    assert _dropped("encode_failed") == before + 1
    assert len(capture_store.records("predictions")) == 1
    assert len(capture_store.objects) == 1, "no empty object for the dropped record's hour"
    assert writer.held == 0


@pytest.mark.parametrize(
    ("features", "classes"),
    [
        (("sepal_length", "sepal_width"), ("setosa", "versicolor")),
        (('a "quoted" %s name', "100%"), ("ünïcode", "back\\slash")),
    ],
)
def test_prediction_lines_hold_exactly_the_records(
    features: tuple[str, str], classes: tuple[str, str]
) -> None:
    batch = PredictionBatch(
        time=1_764_549_325.123,
        model_version="7",
        feature_names=features,
        class_names=classes,
        ids=["p1.7.0.a.b.c", "p1.7.1.a.b.d"],
        rows=[[5.1, -0.0], [1e-300, 3]],
        probabilities=[[0.9812345504760742, 0.0187654495239258], [1e-05, 0.99999]],
        predicted=[0, 1],
    )
    lines = batch.json_lines("iris-classifier")
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    # The same records, every float bit for bit (-0.0 included), in the same field order.
    read = [json.loads(line) for line in lines]
    first, second = features
    setosa, versicolor = classes
    assert read == [
        {
            "prediction_id": "p1.7.0.a.b.c",
            "time": "2025-12-01T00:35:25.123Z",
            "model_name": "iris-classifier",
            "model_version": "7",
            "inputs": {first: 5.1, second: -0.0},
            "predicted_class": setosa,
            "probabilities": {setosa: 0.9812345504760742, versicolor: 0.0187654495239258},
        },
        {
            "prediction_id": "p1.7.1.a.b.d",
            "time": "2025-12-01T00:35:25.123Z",
            "model_name": "iris-classifier",
            "model_version": "7",
            "inputs": {first: 1e-300, second: 3},
            "predicted_class": versicolor,
            "probabilities": {setosa: 1e-05, versicolor: 0.99999},
        },
    ]
    assert [list(record) for record in read] == [list(PredictionRecord.__annotations__)] * 2
    for record, row in zip(read, batch.rows, strict=True):
        assert [math.copysign(1, value) for value in record["inputs"].values()] == [
            math.copysign(1, value) for value in row
        ]


def test_record_times_are_utc_with_milliseconds_across_second_boundaries() -> None:
    # The date part is shared within a second (cached): the next second must not reuse it.
    assert layout.iso_time(1_764_549_325.123) == "2025-12-01T00:35:25.123Z"
    assert layout.iso_time(1_764_549_325.9994) == "2025-12-01T00:35:25.999Z"
    assert layout.iso_time(1_764_549_326.0) == "2025-12-01T00:35:26.000Z"
    assert layout.iso_time(1_764_633_599.5) == "2025-12-01T23:59:59.500Z"
    assert layout.iso_time(1_764_633_600.25) == "2025-12-02T00:00:00.250Z"


def test_an_object_built_round_by_round_holds_every_line_in_order() -> None:
    rounds = [[b'{"n":%d}\n' % n for n in range(start, start + 50)] for start in range(0, 500, 50)]
    body = layout.ObjectBody()
    for lines in rounds:
        body.add(lines)
    assert body.records == 500
    written = body.finish()
    assert gzip.decompress(written) == b"".join(line for lines in rounds for line in lines)
    assert [record["n"] for record in layout.decode(written)] == list(range(500))
