"""Labelled captures become training rows: predictions served and labelled through the API
are harvested into the dataset, once per finished day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import data_versions
from app.cli import main
from app.harvest import harvest
from app.registry import S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import serve

pytestmark = pytest.mark.localstack

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def test_served_and_labelled_predictions_become_rows_of_the_next_training(
    embedded_aws: EmbeddedAws, bucket: str, promoted_registry: S3ModelRegistry
) -> None:
    s3 = embedded_aws.client("s3")
    assert main(["data", "upload"]) == 0
    with serve(promoted_registry) as client:
        answer = client.post("/v1/predict", json={"instances": ROWS}).json()
        ids = [p["prediction_id"] for p in answer["predictions"]]
        for pid, label in zip(ids[:2], ["setosa", "virginica"], strict=True):
            response = client.post("/v1/feedback", json={"prediction_id": pid, "true_label": label})
            assert response.status_code == 200, response.text
    # Leaving the block flushed the captures. Harvest as if it were tomorrow.
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    days = harvest(s3, bucket, "iris-classifier", "datasets/iris/", FEATURES, today=tomorrow)
    assert [(d.rows, d.key is not None) for d in days] == [(2, True)]
    key = days[0].key
    assert key is not None
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    lines = body.splitlines()
    assert lines[0] == ",".join([*FEATURES, "label"])
    assert lines[1:] == ["5.1,3.5,1.4,0.2,setosa", "6.7,3.0,5.2,2.3,virginica"]

    # A harvested day is never rewritten.
    again = harvest(s3, bucket, "iris-classifier", "datasets/iris/", FEATURES, today=tomorrow)
    assert [(d.rows, d.key) for d in again] == [(0, None)]
    # And the next training reads those rows with the rest of the dataset.
    loaded = data_versions.load(s3, bucket, "datasets/iris/")
    assert len(loaded.data.labels) == 152 and key in loaded.version.object_versions


def test_today_is_not_harvested_and_the_command_says_what_it_did(
    bucket: str, promoted_registry: S3ModelRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "upload"]) == 0
    with serve(promoted_registry) as client:
        pid = client.post("/v1/predict", json={"features": ROWS[0]}).json()["predictions"][0][
            "prediction_id"
        ]
        client.post("/v1/feedback", json={"prediction_id": pid, "true_label": "setosa"})
    capsys.readouterr()
    assert main(["data", "harvest"]) == 0
    answer: Any = json.loads(capsys.readouterr().out)
    assert answer == []  # today's captures wait until the day is over
