"""A dataset version is every CSV under the prefix, validated before anything trains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from app import data_versions
from app.cli import main
from app.dataset import packaged_dataset_bytes, packaged_schema_bytes
from app.errors import DatasetError, InvalidRegistryEntryError
from tests.conftest import EmbeddedAws
from tests.integration.conftest import error_line

pytestmark = pytest.mark.localstack

PREFIX = "datasets/iris/"
HEADER = "sepal_length,sepal_width,petal_length,petal_width,species\n"


@pytest.fixture
def s3(embedded_aws: EmbeddedAws) -> Any:
    return embedded_aws.client("s3")


def _put(s3: Any, bucket: str, key: str, body: bytes) -> str:
    return s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]


def test_every_csv_under_the_prefix_is_one_version_named_by_its_contents(
    s3: Any, bucket: str
) -> None:
    iris = packaged_dataset_bytes()
    first = _put(s3, bucket, f"{PREFIX}iris.csv", iris)
    schema = _put(s3, bucket, f"{PREFIX}schema.json", packaged_schema_bytes())
    more = (HEADER + "5.0,3.4,1.5,0.2,setosa\n6.9,3.1,5.4,2.1,virginica\n").encode()
    second = _put(s3, bucket, f"{PREFIX}2026-12-01.csv", more)
    _put(s3, bucket, f"{PREFIX}_reports/ignored.csv", b"not,a,dataset\n")

    loaded = data_versions.load(s3, bucket, PREFIX)
    assert len(loaded.data.labels) == 152
    assert loaded.version.object_versions == {
        f"{PREFIX}2026-12-01.csv": second,
        f"{PREFIX}iris.csv": first,
        f"{PREFIX}schema.json": schema,
    }
    # The same bytes again: a new S3 version, the same dataset digest.
    _put(s3, bucket, f"{PREFIX}iris.csv", iris)
    again = data_versions.load(s3, bucket, PREFIX)
    assert again.version.digest == loaded.version.digest
    assert again.version.object_versions[f"{PREFIX}iris.csv"] != first
    _put(s3, bucket, f"{PREFIX}more.csv", more)
    assert data_versions.load(s3, bucket, PREFIX).version.digest != loaded.version.digest


def test_bad_rows_are_rejected_with_where_and_why_and_the_rest_trains(
    s3: Any,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["data", "upload"]) == 0
    capsys.readouterr()
    bad = (
        HEADER
        + "5.0,3.4,1.5,0.2,setosa\n"
        + "5.0,3.4,999,0.2,setosa\n"  # outside the schema's range
        + "5.0,3.4,1.5,0.2,tulip\n"  # not one of the labels
        + "5.0,3.4,nan,0.2,setosa\n"  # not finite
        + "5.0,three,1.5,0.2,setosa\n"  # not a number
    ).encode()
    _put(s3, bucket, f"{PREFIX}uploaded.csv", bad)
    assert main(["train", "--epochs", "20", "--grid", "8:0.05"]) == 0, capsys.readouterr().err
    run_id = json.loads(capsys.readouterr().out)["run_id"]

    client = MlflowClient(tracking_server)
    report = json.loads(Path(client.download_artifacts(run_id, "data/validation.json")).read_text())
    assert (report["accepted"], report["rejected"]) == (151, 4)
    assert report["reasons"] == {
        "not_a_number": 1,
        "not_finite": 1,
        "out_of_range": 1,
        "unknown_label": 1,
    }
    lines = {(r["line"], r["reason"]) for r in report["rejections"]}
    assert (3, "petal_length=999 is outside [0.0, 50.0]") in lines
    assert all(r["source"] == f"s3://{bucket}/{PREFIX}uploaded.csv" for r in report["rejections"])
    assert client.get_run(run_id).data.metrics["rows_rejected"] == 4


def test_too_many_rejected_rows_train_nothing_and_say_why(
    s3: Any,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _put(s3, bucket, f"{PREFIX}schema.json", packaged_schema_bytes())
    rows = "".join(f"5.0,3.4,{100 + i},0.2,setosa\n" for i in range(20))
    _put(s3, bucket, f"{PREFIX}iris.csv", packaged_dataset_bytes())
    _put(s3, bucket, f"{PREFIX}broken.csv", (HEADER + rows).encode())
    assert main(["train", "--epochs", "20"]) == 1
    line = error_line(capsys)
    assert "150 rows accepted, 20 rejected (20 out_of_range)" in line
    assert "more than the 10% allowed; nothing was trained" in line
    assert "broken.csv line 2: petal_length=100" in line
    assert MlflowClient(tracking_server).search_model_versions(f"name='{tracked_model}'") == []


@pytest.mark.parametrize(
    ("objects", "fragment"),
    [
        ({}, "holds no .csv object; seed it with `python -m app data upload`"),
        (
            {"a.csv": HEADER.encode(), "b.csv": b"x,y,label\n1,2,z\n"},
            "has the columns ['x', 'y', 'label']",
        ),
        ({"schema.json": b'{"features": {}, "colour": 1}'}, "is not a valid dataset schema"),
    ],
)
def test_an_unusable_dataset_is_one_clear_error(
    s3: Any, bucket: str, objects: dict[str, bytes], fragment: str
) -> None:
    for name, body in objects.items():
        _put(s3, bucket, f"{PREFIX}{name}", body)
    if "schema.json" in objects:
        _put(s3, bucket, f"{PREFIX}iris.csv", packaged_dataset_bytes())
    with pytest.raises((DatasetError, InvalidRegistryEntryError)) as raised:
        data_versions.load(s3, bucket, PREFIX)
    assert fragment in str(raised.value)


def test_an_upload_key_outside_the_dataset_prefix_is_a_bad_setting(
    bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLOPS_DATASET_KEY", "elsewhere/iris.csv")
    assert main(["data", "upload"]) == 2
    assert "is not under MLOPS_DATASET_PREFIX='datasets/iris/'" in error_line(capsys)


def test_a_dataset_of_many_objects_is_recorded_whole_and_trains(
    s3: Any,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["data", "upload"]) == 0
    for day in range(1, 13):  # a dozen harvested days
        _put(
            s3,
            bucket,
            f"{PREFIX}captured/date=2026-11-{day:02d}.csv",
            (HEADER + "5.0,3.4,1.5,0.2,setosa\n").encode(),
        )
    capsys.readouterr()
    assert main(["train", "--epochs", "20", "--grid", "8:0.05"]) == 0, capsys.readouterr().err
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    client = MlflowClient(tracking_server)
    manifest = json.loads(Path(client.download_artifacts(run_id, "data/manifest.json")).read_text())
    assert len(manifest) == 14  # iris.csv, schema.json and the twelve days


def test_output_without_data_is_a_bad_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--output", "somewhere"]) == 2
    assert "--output writes a model trained on --data" in error_line(capsys)


def test_an_upload_with_a_row_training_would_refuse_uploads_nothing(
    s3: Any, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "upload"]) == 0
    bad = tmp_path / "new.csv"
    bad.write_text(HEADER + "5.0,3.4,1.5,0.2,setosa\n5.0,3.4,1.5,0.2,tulip\n")
    capsys.readouterr()
    assert main(["data", "upload", "--file", str(bad)]) == 1
    assert "line 3: label 'tulip' is not one of" in error_line(capsys)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}new")["KeyCount"] == 0
