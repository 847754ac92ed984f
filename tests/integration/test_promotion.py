"""Retraining decides on the same rows: unchanged data trains nothing, a tie is not promoted,
a model trained on shifted data replaces one that fails on it, and the run records why."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from app.cli import main
from app.dataset import packaged_dataset_bytes
from app.registry import S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import error_line, run_cli

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

TRAIN = ["--epochs", "60", "--grid", "16:0.05"]


def _shifted_iris(path: Path) -> Path:
    """Iris with every measurement scaled and moved: a model trained on the original data
    standardises these inputs far off its training range."""
    rows = list(csv.reader(io.StringIO(packaged_dataset_bytes().decode())))
    out = [rows[0]] + [
        [f"{float(v) * 1.6 + 2.5:.2f}" for v in row[:-1]] + row[-1:] for row in rows[1:] if row
    ]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(out)
    return path


def test_a_retrain_on_unchanged_data_trains_nothing(
    tracked_model: str, tracking_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "data", "upload")
    first = run_cli(capsys, "train", *TRAIN, "--promote")
    skipped = run_cli(capsys, "retrain", *TRAIN)
    assert skipped["skipped"] is True and skipped["run_id"] == first["run_id"]
    run_cli(capsys, "data", "upload")  # the same bytes again: a new S3 version, the same data
    assert run_cli(capsys, "retrain", *TRAIN)["skipped"] is True
    client = MlflowClient(tracking_server)
    assert [v.version for v in client.search_model_versions(f"name='{tracked_model}'")] == ["1"]
    experiment = client.get_experiment_by_name(tracked_model)
    assert experiment is not None
    parents = client.search_runs([experiment.experiment_id], "tags.dataset_sha256 != ''")
    assert len(parents) == 1


def test_a_tie_on_the_same_rows_is_registered_but_not_promoted(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(capsys, "data", "upload")
    run_cli(capsys, "train", *TRAIN, "--promote")
    again = run_cli(capsys, "train", *TRAIN, "--promote")  # the same data and seed: the same model
    assert (again["version"], again["promoted"]) == ("2", False), again
    assert "does not beat" in again["message"]
    store = S3ModelRegistry(embedded_aws.client("s3"), bucket, tracked_model)
    assert store.alias("production")[0].version == "1"
    run = MlflowClient(tracking_server).get_run(again["run_id"])
    assert run.data.tags["promotion_decision"] == "kept_champion"
    assert (
        run.data.metrics["challenger_heldout_accuracy"]
        == run.data.metrics["champion_heldout_accuracy"]
    )


def test_a_model_trained_on_shifted_data_replaces_one_that_fails_on_it(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(capsys, "data", "upload")
    run_cli(capsys, "train", *TRAIN, "--promote")
    # The same object replaced by shifted data: all of the newest data moved.
    shifted = _shifted_iris(tmp_path / "shifted.csv")
    run_cli(
        capsys,
        "data",
        "upload",
        "--file",
        str(shifted),
        "--key",
        "datasets/iris/iris.csv",
        "--replace",
    )
    outcome = run_cli(capsys, "retrain", *TRAIN)
    assert (outcome["version"], outcome["promoted"]) == ("2", True), outcome["message"]

    client = MlflowClient(tracking_server)
    run = client.get_run(outcome["run_id"])
    champion = run.data.metrics["champion_heldout_accuracy"]
    challenger = run.data.metrics["challenger_heldout_accuracy"]
    assert challenger >= champion + 0.01 and champion < 0.7, (champion, challenger)
    assert run.data.tags["champion_version"] == "1"
    page = Path(client.download_artifacts(run.info.run_id, "evaluation/report.html")).read_text()
    assert "version 2 promoted" in page and "champion: version 1" in page
    assert "petal_length" in page  # the drift table
    scores = json.loads(
        Path(client.download_artifacts(run.info.run_id, "evaluation/scores.json")).read_text()
    )
    assert scores["champion"]["accuracy"] == champion
    assert scores["feature_drift"]["petal_length"]["psi"] > 0.25
    store = S3ModelRegistry(embedded_aws.client("s3"), bucket, tracked_model)
    assert store.alias("production")[0].version == "2"


def test_a_challenger_that_lost_a_class_the_champion_answers_is_not_promoted(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(capsys, "data", "upload")
    run_cli(capsys, "train", *TRAIN, "--promote")
    rows = packaged_dataset_bytes().decode().splitlines()
    two_classes = tmp_path / "two.csv"
    two_classes.write_text("\n".join(r for r in rows if not r.endswith("virginica")) + "\n")
    run_cli(
        capsys,
        "data",
        "upload",
        "--file",
        str(two_classes),
        "--key",
        "datasets/iris/iris.csv",
        "--replace",
    )
    outcome = run_cli(capsys, "retrain", *TRAIN)
    assert (outcome["version"], outcome["promoted"]) == ("2", False), outcome
    assert "cannot answer ['virginica']" in outcome["message"]
    store = S3ModelRegistry(embedded_aws.client("s3"), bucket, tracked_model)
    assert store.alias("production")[0].version == "1"


def test_an_upload_never_silently_replaces_other_data(
    embedded_aws: EmbeddedAws, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "data", "upload")
    more = tmp_path / "more.csv"
    more.write_text("sepal_length,sepal_width,petal_length,petal_width,species\n5,3,1,0.2,setosa\n")
    # A file goes in beside the others, under its own name.
    assert run_cli(capsys, "data", "upload", "--file", str(more))["uploaded"].endswith(
        "datasets/iris/more.csv"
    )
    assert main(["data", "upload", "--file", str(more), "--key", "datasets/iris/iris.csv"]) == 2
    assert "exists with other content; pass --replace" in error_line(capsys)
    body = embedded_aws.client("s3").get_object(Bucket=bucket, Key="datasets/iris/iris.csv")
    assert body["Body"].read() == packaged_dataset_bytes()
