"""The loop on the embedded default: new data lands in the bucket, S3 notifies the queue,
`data watch` starts a retraining, the challenger beats the champion on the same held-out
rows, a running server picks it up; the same data again trains nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from app.dataset import packaged_dataset_bytes
from app.registry import S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import run_cli, serve

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

SETOSA = [5.1, 3.5, 1.4, 0.2]


def _shifted_rows() -> bytes:
    rows = list(csv.reader(io.StringIO(packaged_dataset_bytes().decode())))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        if row:
            writer.writerow([f"{float(v) * 1.6 + 2.5:.2f}" for v in row[:-1]] + row[-1:])
    return out.getvalue().encode()


@pytest.fixture
def notified_queue(embedded_aws: EmbeddedAws, bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A queue the bucket notifies of objects created under datasets/, as the stack does."""
    sqs = embedded_aws.client("sqs")
    url = sqs.create_queue(QueueName=f"{bucket}-datasets")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    embedded_aws.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "datasets/"}]}},
                }
            ]
        },
    )
    monkeypatch.setenv("MLOPS_SQS_ENDPOINT_URL", embedded_aws.endpoint_url)
    return url


def test_new_data_retrains_promotes_and_is_served_and_the_same_data_again_is_not(
    embedded_aws: EmbeddedAws,
    bucket: str,
    tracked_model: str,
    tracking_server: str,
    notified_queue: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(capsys, "data", "upload")
    run_cli(capsys, "train", "--epochs", "60", "--grid", "16:0.05", "--promote")
    watch = ["data", "watch", "--queue-url", notified_queue, "--once", "--wait-seconds", "5"]
    run_cli(capsys, *watch)  # the seed upload's own notifications: the digest was trained on
    store = S3ModelRegistry(embedded_aws.client("s3"), bucket, tracked_model)
    assert [
        v.version
        for v in MlflowClient(tracking_server).search_model_versions(f"name='{tracked_model}'")
    ] == ["1"]

    with serve(store) as server:
        assert server.post("/v1/predict", json={"features": SETOSA}).json()["model_version"] == "1"
        shifted = tmp_path / "shifted.csv"
        shifted.write_bytes(_shifted_rows())
        run_cli(
            capsys, "data", "upload", "--file", str(shifted), "--key", "datasets/iris/shifted.csv"
        )
        run_cli(capsys, *watch)

        assert store.alias("production")[0].version == "2"
        assert server.app.state.serving.holder.refresh() is True  # type: ignore[attr-defined]
        moved = [x * 1.6 + 2.5 for x in SETOSA]
        answer = server.post("/v1/predict", json={"features": moved}).json()
        assert answer["model_version"] == "2"

    client = MlflowClient(tracking_server)
    promoted = client.get_model_version_by_alias(tracked_model, "production")
    assert promoted.run_id is not None
    # The version comes from the winning candidate's run; the decision is on its training's.
    candidate = client.get_run(promoted.run_id)
    run = client.get_run(candidate.data.tags["mlflow.parentRunId"])
    assert run.data.tags["promotion_decision"] == "promoted"
    assert (
        run.data.metrics["challenger_heldout_accuracy"]
        > run.data.metrics["champion_heldout_accuracy"]
    )

    # The same bytes again: S3 notifies, the retraining finds the digest trained on.
    run_cli(capsys, "data", "upload", "--file", str(shifted), "--key", "datasets/iris/shifted.csv")
    run_cli(capsys, *watch)
    versions = client.search_model_versions(f"name='{tracked_model}'")
    assert sorted(v.version for v in versions) == ["1", "2"]
