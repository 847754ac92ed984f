"""The app's whole loop against the embedded AWS: data → train → register → promote → serve →
predict → feedback → drift → retrain → rollback, plus races and faults."""

from __future__ import annotations

import threading

import pytest

from app import data_versions, metrics
from app.cli import main
from app.errors import VersionExistsError
from app.registry import ModelMetadata, S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import run_cli, serve

pytestmark = pytest.mark.localstack


TRAIN_ARGS = ["--epochs", "60", "--grid", "16:0.05"]
SETOSA = [5.1, 3.5, 1.4, 0.2]


def _registry(
    embedded_aws: EmbeddedAws, bucket: str, name: str = "iris-classifier"
) -> S3ModelRegistry:
    return S3ModelRegistry(embedded_aws.client("s3"), bucket, name)


def test_the_whole_loop(
    embedded_aws: EmbeddedAws, bucket: str, tracked_model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "data", "upload")
    first = run_cli(capsys, "train", *TRAIN_ARGS, "--promote")
    assert first["version"] == "1" and first["promoted"], first
    registry = _registry(embedded_aws, bucket, tracked_model)
    meta = registry.metadata("1")
    loaded = data_versions.load(embedded_aws.client("s3"), bucket, "datasets/iris/")
    assert meta.dataset_sha256 == loaded.version.digest

    with serve(registry) as client:
        assert client.get("/readyz").json()["model_version"] == "1"
        predicted = client.post("/v1/predict", json={"features": SETOSA}).json()
        pid = predicted["predictions"][0]["prediction_id"]
        feedback = client.post("/v1/feedback", json={"prediction_id": pid, "true_label": "setosa"})
        assert feedback.json()["correct"] is True

        client.post("/v1/predict", json={"instances": [SETOSA] * 50})
        client.get("/metrics")
        calm = metrics.REGISTRY.get_sample_value(
            "mlops_feature_drift_psi", {"feature": "petal_length"}
        )
        client.post("/v1/predict", json={"instances": [[7.7, 3.8, 6.7, 2.2]] * 50})
        client.get("/metrics")
        shifted = metrics.REGISTRY.get_sample_value(
            "mlops_feature_drift_psi", {"feature": "petal_length"}
        )
        assert calm is not None and shifted is not None and shifted > calm

        # The data has not changed: a retrain trains nothing; `train` trains anyway.
        assert run_cli(capsys, "retrain", *TRAIN_ARGS)["skipped"] is True
        second = run_cli(capsys, "train", *TRAIN_ARGS, "--seed", "1")
        assert second["version"] == "2"
        # Force it, whatever its metric, to exercise hot swap and rollback.
        run_cli(capsys, "models", "promote", "2", "--force")
        assert client.app.state.serving.holder.refresh() is True  # type: ignore[attr-defined]
        assert client.post("/v1/predict", json={"features": SETOSA}).json()["model_version"] == "2"

        rolled = run_cli(capsys, "models", "rollback")
        assert rolled["version"] == "1"
        client.app.state.serving.holder.refresh()  # type: ignore[attr-defined]
        assert client.post("/v1/predict", json={"features": SETOSA}).json()["model_version"] == "1"

    listed = run_cli(capsys, "models", "list")
    assert [row["version"] for row in listed] == ["1", "2"]


def test_worse_candidate_is_not_promoted_without_force(
    embedded_aws: EmbeddedAws, bucket: str, tracked_model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "data", "upload")
    run_cli(capsys, "train", *TRAIN_ARGS, "--promote")
    weak = run_cli(capsys, "train", "--epochs", "1", "--grid", "16:0.001")
    assert main(["models", "promote", weak["version"]]) == 1
    assert "pass --force" in capsys.readouterr().err
    assert _registry(embedded_aws, bucket, tracked_model).alias("production")[0].version == "1"


def test_two_racing_registrations_exactly_one_wins(
    embedded_aws: EmbeddedAws, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained_artifact
    registry = _registry(embedded_aws, bucket)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def register(tag: str) -> None:
        barrier.wait()
        try:
            registry.create_version("7", artifact, meta.model_copy(update={"code_version": tag}))
            outcomes.append(tag)
        except VersionExistsError:
            outcomes.append("lost")

    threads = [threading.Thread(target=register, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("lost") == 1, outcomes
    winner = next(tag for tag in outcomes if tag != "lost")
    assert registry.metadata("7").code_version == winner


def test_corrupted_artifact_is_refused_and_old_model_keeps_serving(
    embedded_aws: EmbeddedAws, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained_artifact
    registry = _registry(embedded_aws, bucket)
    registry.create_version("1", artifact, meta)
    registry.promote("1")
    registry.create_version("2", artifact, meta)
    embedded_aws.client("s3").put_object(
        Bucket=bucket, Key="models/iris-classifier/2/model.onnx", Body=b"tampered"
    )
    before = metrics.REGISTRY.get_sample_value(
        "mlops_model_load_failures_total", {"reason": "checksum_mismatch"}
    )
    with serve(registry) as client:
        # Written directly: `promote` refuses a corrupt version, even with --force.
        registry.set_alias("production", "2", ["1"], registry.alias("production")[1])
        assert client.app.state.serving.holder.refresh() is False  # type: ignore[attr-defined]
        assert client.post("/v1/predict", json={"features": SETOSA}).json()["model_version"] == "1"
    after = metrics.REGISTRY.get_sample_value(
        "mlops_model_load_failures_total", {"reason": "checksum_mismatch"}
    )
    assert (after or 0) - (before or 0) == 1


def test_unreachable_bucket_at_reload_keeps_serving(
    embedded_aws: EmbeddedAws, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained_artifact
    registry = _registry(embedded_aws, bucket)
    registry.create_version("1", artifact, meta)
    registry.promote("1")
    with serve(registry) as client:
        # Point the registry at a closed port: every call fails to connect.
        import boto3
        from botocore.config import Config

        registry._s3 = boto3.client(
            "s3",
            endpoint_url="http://127.0.0.1:9",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(connect_timeout=1, retries={"max_attempts": 1}),
        )
        assert client.app.state.serving.holder.refresh() is False  # type: ignore[attr-defined]
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/predict", json={"features": SETOSA}).status_code == 200
        assert metrics.REGISTRY.get_sample_value(
            "mlops_model_load_failures_total", {"reason": "registry_unavailable"}
        )
