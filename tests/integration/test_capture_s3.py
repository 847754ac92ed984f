"""Captures in the embedded AWS's S3: the server writes predictions and labels to the model
bucket in the documented layout, and they parse back into training rows."""

from __future__ import annotations

import re

import pytest

from app.capture import layout
from app.capture.join import LABEL_COLUMN, labelled_rows
from app.registry import S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import serve

pytestmark = pytest.mark.localstack

SETOSA = [5.1, 3.5, 1.4, 0.2]
KEY = re.compile(
    r"^captures/iris-classifier/(predictions|labels)/date=\d{4}-\d{2}-\d{2}/"
    r"\d{2}-[a-z0-9-]+-[0-9a-f]{8}-\d{6}\.jsonl\.gz$"
)


def test_predictions_and_labels_land_in_the_bucket_and_join_into_rows(
    embedded_aws: EmbeddedAws, bucket: str, promoted_registry: S3ModelRegistry
) -> None:
    with serve(promoted_registry) as client:
        answer = client.post("/v1/predict", json={"instances": [SETOSA, [6.7, 3.0, 5.2, 2.3]]})
        assert answer.status_code == 200, answer.text
        predicted = answer.json()["predictions"]
        labelled = client.post(
            "/v1/feedback",
            json={"prediction_id": predicted[1]["prediction_id"], "true_label": "virginica"},
        )
        assert labelled.status_code == 200, labelled.text
    # The server's shutdown uploaded what it held.
    s3 = embedded_aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="captures/")["Contents"]]
    assert keys and all(KEY.match(key) for key in keys), keys

    def records(stream: layout.Stream) -> list[dict[str, object]]:
        prefix = layout.stream_prefix("iris-classifier", stream)
        return [
            record
            for key in keys
            if key.startswith(prefix)
            for record in layout.decode(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        ]

    predictions, labels = records("predictions"), records("labels")
    assert [r["prediction_id"] for r in predictions] == [p["prediction_id"] for p in predicted]
    features = promoted_registry.metadata("1").feature_names
    rows = labelled_rows(predictions, labels, features)
    assert rows == [
        {**dict(zip(features, [6.7, 3.0, 5.2, 2.3], strict=True)), LABEL_COLUMN: "virginica"}
    ]
