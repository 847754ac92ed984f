"""Bad registry content against the embedded S3: refused at registration and before an alias
moves (even with --force), and one bad entry never stops listing, showing or promoting the
others. The CLI answers each with one error line naming the object, never a traceback."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from app.cli import main
from app.errors import ArtifactIntegrityError, InvalidModelError
from app.registry import ModelMetadata, S3ModelRegistry
from app.tracking.runs import TrainingRecord
from tests.conftest import EmbeddedAws
from tests.integration.conftest import error_line

pytestmark = pytest.mark.localstack

PREFIX = "models/iris-classifier"


@pytest.fixture
def s3(embedded_aws: EmbeddedAws) -> Any:
    return embedded_aws.client("s3")


@pytest.fixture
def registry(promoted_registry: S3ModelRegistry) -> S3ModelRegistry:
    """The deployment store alone: version 1 in production."""
    return promoted_registry


@pytest.fixture
def tracked(promoted_versions: S3ModelRegistry) -> S3ModelRegistry:
    """Versions 1-3 on the tracking server, 1 published and in production: the store."""
    return promoted_versions


def _put_version(
    s3: Any,
    bucket: str,
    version: str,
    artifact: bytes,
    metadata: dict[str, Any] | bytes,
    prefix: str = PREFIX,
) -> None:
    """A version as a buggy or older writer might have left it, bypassing every check."""
    body = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{version}/model.onnx", Body=artifact)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{version}/metadata.json", Body=body)


def _stored(meta: ModelMetadata, artifact: bytes, version: str, **changes: Any) -> dict[str, Any]:
    data = meta.model_dump(mode="json")
    data.update(version=version, artifact_sha256=hashlib.sha256(artifact).hexdigest(), **changes)
    return data


# -- refused at registration ---------------------------------------------------------------
def test_registration_refuses_a_non_finite_metric_and_writes_nothing(
    s3: Any, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained_artifact
    diverged = meta.model_copy(update={"metrics": {**meta.metrics, "accuracy": float("nan")}})
    registry = S3ModelRegistry(s3, bucket, "iris-classifier")
    with pytest.raises(InvalidModelError, match=r"accuracy=nan"):
        registry.publish("1", artifact, diverged)
    assert registry.list_versions() == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"class_names": ["setosa", "versicolor"]}, "metadata lists 2 classes"),
        ({"feature_names": ["a", "b", "c", "d", "e"]}, "metadata lists 5 features"),
    ],
)
def test_registration_refuses_metadata_that_disagrees_with_the_graph(
    s3: Any,
    bucket: str,
    trained_artifact: tuple[bytes, ModelMetadata],
    changes: dict[str, Any],
    fragment: str,
) -> None:
    artifact, meta = trained_artifact
    if "feature_names" in changes:  # keep the drift reference consistent with the names
        first = next(iter(meta.reference.values()))
        changes["reference"] = dict.fromkeys(changes["feature_names"], first)
    registry = S3ModelRegistry(s3, bucket, "iris-classifier")
    with pytest.raises(InvalidModelError, match=fragment):
        registry.publish("1", artifact, meta.model_copy(update=changes))
    assert registry.list_versions() == []


# -- one bad entry does not stop the others -------------------------------------------------
BAD_METADATA = [
    pytest.param("null-metric", "metrics.accuracy", id="nan-stored-as-null"),
    pytest.param("not-json", "Invalid JSON", id="not-json"),
    pytest.param("no-classes", "class_names", id="missing-field"),
]


def _bad_metadata(kind: str, meta: ModelMetadata, artifact: bytes) -> dict[str, Any] | bytes:
    if kind == "not-json":
        return b'{"model_name": "iris-classifier", '
    data = _stored(meta, artifact, "2")
    if kind == "null-metric":
        data["metrics"]["accuracy"] = None
    else:
        del data["class_names"]
    return data


def test_models_list_marks_a_version_that_cannot_be_promoted_and_lists_the_rest(
    tracked: S3ModelRegistry, tracking_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Registered by hand (e.g. in the UI), without the tags training sets.
    MlflowClient(tracking_server).create_model_version(
        tracked.model_name, source="s3://elsewhere/model"
    )
    assert main(["models", "list"]) == 0, capsys.readouterr().err
    rows = {row["version"]: row for row in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == ["1", "2", "3", "4"]
    assert (rows["1"]["status"], rows["1"]["served"], rows["3"]["status"]) == (
        "valid",
        "production",
        "valid",
    )
    assert rows["4"]["status"] == "invalid"
    assert "no artifact_sha256 tag" in rows["4"]["error"]
    assert main(["models", "promote", "4"]) == 1
    assert "cannot be verified" in error_line(capsys)


@pytest.mark.parametrize(("kind", "fragment"), BAD_METADATA)
def test_showing_a_bad_published_copy_is_one_error_line_naming_the_object(
    s3: Any,
    bucket: str,
    tracked: S3ModelRegistry,
    trained_artifact: tuple[bytes, ModelMetadata],
    capsys: pytest.CaptureFixture[str],
    kind: str,
    fragment: str,
) -> None:
    artifact, meta = trained_artifact
    prefix = f"models/{tracked.model_name}"
    _put_version(s3, bucket, "2", artifact, _bad_metadata(kind, meta, artifact), prefix)
    assert main(["models", "show", "2"]) == 1
    line = error_line(capsys)
    assert f"s3://{bucket}/{prefix}/2/metadata.json" in line
    assert fragment in line
    assert "register a new one" in line


def test_a_bad_alias_record_is_named_and_can_be_rewritten_with_force(
    s3: Any, bucket: str, tracked: S3ModelRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tracked
    prefix = f"models/{tracked.model_name}"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/aliases/production.json", Body=b"[]")
    assert main(["models", "show"]) == 1
    line = error_line(capsys)
    assert f"{prefix}/aliases/production.json is not a valid alias record" in line
    assert "--force" in line

    assert main(["models", "list"]) == 0
    captured = capsys.readouterr()
    assert [row["version"] for row in json.loads(captured.out)] == ["1", "2", "3"]
    assert "warning:" in captured.err and "aliases/production.json" in captured.err

    assert main(["models", "promote", "1"]) == 1
    assert "is not a valid alias record" in error_line(capsys)
    assert main(["models", "promote", "1", "--force"]) == 0, capsys.readouterr().err
    assert registry.alias("production")[0].version == "1"


def test_a_candidate_replaces_an_incumbent_whose_metadata_is_unreadable(
    s3: Any, bucket: str, registry: S3ModelRegistry, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    # What `train --promote` runs: the quality gate must not trip over the broken incumbent.
    artifact, meta = trained_artifact
    _put_version(s3, bucket, "2", artifact, _bad_metadata("null-metric", meta, artifact))
    registry.set_alias("production", "2", ["1"], registry.alias("production")[1])
    registry.publish("3", artifact, meta)
    assert registry.promote("3").version == "3"
    assert registry.alias("production")[0].history[:2] == ["2", "1"]


# -- verified before an alias moves, even with --force -------------------------------------
def test_promote_force_refuses_a_published_copy_that_is_another_artifact(
    s3: Any,
    bucket: str,
    tracked: S3ModelRegistry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = f"models/{tracked.model_name}"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/2/model.onnx", Body=b"tampered")
    assert main(["models", "promote", "2", "--force"]) == 1
    line = error_line(capsys)
    assert f"{prefix}/2/ already holds another model" in line
    assert tracked.alias("production")[0].version == "1"


def test_promote_force_refuses_metadata_that_disagrees_with_the_graph(
    s3: Any,
    bucket: str,
    tracked: S3ModelRegistry,
    training_record: TrainingRecord,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = tracked
    artifact, meta = training_record.artifact, training_record.metadata
    four = [*meta.class_names, "unknown"]
    stored = _stored(meta, artifact, "2", class_names=four, model_name=tracked.model_name)
    _put_version(s3, bucket, "2", artifact, stored, f"models/{tracked.model_name}")
    assert main(["models", "promote", "2", "--force"]) == 1
    assert "metadata lists 4 classes" in error_line(capsys)
    assert registry.alias("production")[0].version == "1"


def test_rollback_refuses_a_previous_version_that_fails_its_checksum(
    s3: Any, bucket: str, registry: S3ModelRegistry, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    registry.create_version("2", *trained_artifact)
    registry.promote("2", force=True)
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/1/model.onnx", Body=b"tampered")
    with pytest.raises(ArtifactIntegrityError, match=f"{PREFIX}/1/model.onnx"):
        registry.rollback()
    assert registry.alias("production")[0].version == "2"
