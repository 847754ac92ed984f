"""The pipeline's steps as a workflow runs them, one process (pod) each, sharing only the
parent run's id: prepare → candidates → finish; and prepare on data already trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from app.cli import main
from app.registry import S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import error_line, run_cli

pytestmark = [pytest.mark.localstack, pytest.mark.slow]


def test_prepare_candidates_finish_register_and_promote_the_best(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(capsys, "data", "upload")
    out = tmp_path / "run-id"
    run_id = run_cli(capsys, "pipeline", "prepare", "--run-id-file", str(out))["run_id"]
    assert out.read_text() == run_id
    children = [
        run_cli(
            capsys,
            "pipeline",
            "candidate",
            "--run-id",
            run_id,
            "--candidate",
            spec,
            "--epochs",
            "30",
        )["run_id"]
        for spec in ("4:0.001", "16:0.05")
    ]
    outcome = run_cli(capsys, "pipeline", "finish", "--run-id", run_id, "--promote")
    assert (outcome["version"], outcome["promoted"]) == ("1", True), outcome

    client = MlflowClient(tracking_server)
    parent = client.get_run(run_id)
    # The better candidate (more units, a usable learning rate) won; its model is version 1.
    winner = parent.data.tags["winning_candidate_run"]
    assert winner == children[1]
    assert client.get_model_version(tracked_model, "1").run_id == winner
    assert parent.info.status == "FINISHED"
    store = S3ModelRegistry(embedded_aws.client("s3"), bucket, tracked_model)
    assert store.alias("production")[0].version == "1"

    # The same data again: prepare opens nothing, and says so in its file too.
    skipped = run_cli(capsys, "pipeline", "prepare", "--skip-unchanged", "--run-id-file", str(out))
    assert (skipped["skipped"], skipped["run_id"]) == (True, run_id)
    assert "digest is the same" in skipped["reason"]
    assert out.read_text() == ""
    # Another family on the same data is a new training, not a repeat of this one.
    with pytest.MonkeyPatch.context() as scoped:
        scoped.setenv("MLOPS_MODEL_FAMILY", "gradient_boosting")
        other = run_cli(capsys, "pipeline", "prepare", "--skip-unchanged")
    assert other.get("skipped") is not True and other["run_id"] != run_id
    assert client.get_run(other["run_id"]).data.tags["model_family"] == "gradient_boosting"
    assert parent.data.tags["model_family"] == "mlp"


def test_a_step_given_a_run_that_is_no_training_says_so(
    bucket: str, tracked_model: str, tracking_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = MlflowClient(tracking_server)
    experiment = client.create_experiment(f"{tracked_model}-other")
    stranger = client.create_run(experiment).info.run_id
    assert main(["pipeline", "finish", "--run-id", stranger]) == 2
    assert "is not a training's parent run" in error_line(capsys)
    assert main(["pipeline", "finish", "--run-id", "0" * 32]) == 2
    assert "reading run" in error_line(capsys)


def test_finish_with_no_finished_candidate_fails_the_training(
    bucket: str, tracked_model: str, tracking_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "data", "upload")
    run_id = run_cli(capsys, "pipeline", "prepare")["run_id"]
    assert main(["pipeline", "finish", "--run-id", run_id]) == 1
    assert "has no finished candidate" in error_line(capsys)
    assert MlflowClient(tracking_server).get_run(run_id).info.status == "FAILED"


def test_a_finish_that_failed_after_registering_is_retried_without_a_second_version(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.errors import TrackingUnavailableError
    from app.tracking.registry import TrackedModelRegistry

    run_cli(capsys, "data", "upload")
    run_id = run_cli(capsys, "pipeline", "prepare")["run_id"]
    run_cli(
        capsys,
        "pipeline",
        "candidate",
        "--run-id",
        run_id,
        "--candidate",
        "16:0.05",
        "--epochs",
        "30",
    )
    promote = TrackedModelRegistry.promote_over

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise TrackingUnavailableError("tracking server down mid-promotion")

    monkeypatch.setattr(TrackedModelRegistry, "promote_over", refused)
    assert main(["pipeline", "finish", "--run-id", run_id, "--promote"]) == 1
    client = MlflowClient(tracking_server)
    assert client.get_run(run_id).info.status == "FAILED"
    # A failed training is no reason to skip the data: the next one trains it.
    assert run_cli(capsys, "pipeline", "prepare", "--skip-unchanged")["run_id"]

    monkeypatch.setattr(TrackedModelRegistry, "promote_over", promote)
    outcome = run_cli(capsys, "pipeline", "finish", "--run-id", run_id, "--promote")
    assert (outcome["version"], outcome["promoted"]) == ("1", True), outcome
    assert [v.version for v in client.search_model_versions(f"name='{tracked_model}'")] == ["1"]
    store = S3ModelRegistry(embedded_aws.client("s3"), bucket, tracked_model)
    assert store.alias("production")[0].version == "1"
    assert client.get_run(run_id).info.status == "FINISHED"


def test_a_champion_that_cannot_be_read_stops_the_decision_instead_of_promoting_blind(
    bucket: str,
    tracked_model: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.errors import RegistryUnavailableError

    run_cli(capsys, "data", "upload")
    run_cli(capsys, "train", "--epochs", "30", "--grid", "16:0.05", "--promote")

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise RegistryUnavailableError("reading s3://bucket/models/...: connection reset")

    monkeypatch.setattr(S3ModelRegistry, "artifact", unreachable)
    monkeypatch.setenv("MLOPS_PARALLEL_CANDIDATES", "1")
    assert main(["train", "--epochs", "30", "--grid", "16:0.05", "--seed", "2", "--promote"]) == 1
    assert "connection reset" in error_line(capsys)
    monkeypatch.undo()


def test_abandon_ends_a_training_whose_candidates_failed_and_frees_its_data(
    bucket: str, tracked_model: str, tracking_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "data", "upload")
    run_id = run_cli(capsys, "pipeline", "prepare", "--skip-unchanged")["run_id"]
    assert run_cli(capsys, "pipeline", "abandon", "--run-id", run_id)["ended"] is True
    assert MlflowClient(tracking_server).get_run(run_id).info.status == "FAILED"
    assert run_cli(capsys, "pipeline", "abandon", "--run-id", run_id)["ended"] is False
    assert run_cli(capsys, "pipeline", "prepare", "--skip-unchanged")["run_id"] != run_id
