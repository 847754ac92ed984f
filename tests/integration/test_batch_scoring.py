"""Batch scoring a CSV in the bucket: the served model's answers beside the input, or nothing
at all when a row is bad."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any

import pytest

from app.cli import main
from app.registry import S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import error_line, serve

pytestmark = pytest.mark.localstack

KEY = "scoring/2026-12-01.csv"
ROWS = [["a1", "5.1", "3.5", "1.4", "0.2"], ["a2", "6.7", "3.0", "5.2", "2.3"]]
# Columns in another order than the model's, with an id to pass through.
HEADER = ["id", "sepal_length", "sepal_width", "petal_length", "petal_width"]


def _put(s3: Any, bucket: str, rows: list[list[str]], header: list[str] = HEADER) -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    s3.put_object(Bucket=bucket, Key=KEY, Body=text.getvalue().encode())


def test_scores_stream_into_a_file_beside_the_input_and_match_the_api(
    embedded_aws: EmbeddedAws,
    bucket: str,
    promoted_registry: S3ModelRegistry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3 = embedded_aws.client("s3")
    many = [[f"r{i}", *ROWS[i % 2][1:]] for i in range(20_000)]  # more than one chunk
    _put(s3, bucket, many)
    assert main(["score", "--input", KEY]) == 0, capsys.readouterr().err
    answer = json.loads(capsys.readouterr().out)
    assert answer["written"] == f"s3://{bucket}/scoring/2026-12-01.v1.predictions.csv.gz"
    assert answer["rows"] == 20_000
    body = s3.get_object(Bucket=bucket, Key="scoring/2026-12-01.v1.predictions.csv.gz")["Body"]
    lines = list(csv.reader(io.StringIO(gzip.decompress(body.read()).decode())))
    assert lines[0][:6] == [*HEADER, "predicted_class"]
    assert len(lines) == 20_001 and lines[20_000][0] == "r19999"

    with serve(promoted_registry) as client:
        features = [[float(v) for v in row[1:]] for row in ROWS]
        served = client.post("/v1/predict", json={"instances": features}).json()["predictions"]
    for line, prediction in zip(lines[1:3], served, strict=True):
        assert line[5] == prediction["predicted_class"]
        probabilities = dict(zip(lines[0][6:], map(float, line[6:]), strict=True))
        for name, value in prediction["probabilities"].items():
            assert probabilities[f"probability_{name}"] == pytest.approx(value, abs=1e-5)


def test_a_bad_row_writes_nothing_and_names_its_line(
    embedded_aws: EmbeddedAws,
    bucket: str,
    promoted_registry: S3ModelRegistry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3 = embedded_aws.client("s3")
    rows = [[f"r{i}", *ROWS[0][1:]] for i in range(10_000)]
    rows[9_000][3] = "n/a"
    _put(s3, bucket, rows)
    assert main(["score", "--input", KEY, "--output", "scoring/out.csv.gz"]) == 1
    assert "line 9002: 'n/a' is not a number" in error_line(capsys)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="scoring/out")
    assert listed["KeyCount"] == 0
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_missing_feature_column_is_named(
    embedded_aws: EmbeddedAws,
    bucket: str,
    promoted_registry: S3ModelRegistry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _put(embedded_aws.client("s3"), bucket, [["x", "1", "2", "3"]], HEADER[:4])
    assert main(["score", "--input", KEY]) == 1
    assert "has no column 'petal_width'" in error_line(capsys)
