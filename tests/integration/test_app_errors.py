"""Bad arguments to `python -m app` and lost races on the registry: a clear error, never a
traceback, and the registry left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.errors import AliasConflictError
from app.registry import ModelMetadata, S3ModelRegistry
from tests.conftest import EmbeddedAws
from tests.integration.conftest import error_line

pytestmark = pytest.mark.localstack


@pytest.fixture
def registry(promoted_versions: S3ModelRegistry) -> S3ModelRegistry:
    """Versions 1-3 on the tracking server, version 1 in production."""
    return promoted_versions


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["models", "promote", "99"], "has no version '99'"),
        (["models", "promote", "nope"], "'nope' is not a version number"),
        (["models", "show", "42"], "has no version '42'"),
        (["models", "show", "--alias", "staging"], "aliases/staging.json does not exist"),
    ],
)
def test_unknown_version_or_alias_exits_2_and_leaves_the_alias(
    registry: S3ModelRegistry,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    fragment: str,
) -> None:
    assert main(argv) == 2
    assert fragment in error_line(capsys)
    assert registry.alias("production")[0].version == "1"


def test_rollback_without_history_exits_2(
    registry: S3ModelRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "rollback"]) == 2
    assert "no earlier version" in error_line(capsys)
    assert registry.alias("production")[0].version == "1"


def test_upload_of_a_missing_file_exits_2_naming_it(
    bucket: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "absent.csv"
    assert main(["data", "upload", "--file", str(missing)]) == 2
    assert f"--file {missing} is not a file" in error_line(capsys)


def test_an_alias_name_that_is_not_a_key_segment_is_rejected_by_argparse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["models", "rollback", "--alias", "../production"])
    assert exit_info.value.code == 2
    assert "lower-case letters" in capsys.readouterr().err


def test_bad_setting_exits_2_naming_the_variable(
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLOPS_MAX_BATCH_SIZE", "lots")
    assert main(["models", "list"]) == 2
    assert "MLOPS_MAX_BATCH_SIZE" in error_line(capsys)


def test_an_alias_move_from_a_stale_etag_loses_and_overwrites_nothing(
    embedded_aws: EmbeddedAws,
    registry: S3ModelRegistry,
    trained_artifact: tuple[bytes, ModelMetadata],
) -> None:
    registry.create_version("2", *trained_artifact)
    registry.create_version("3", *trained_artifact)
    _, stale = registry.alias("production")
    registry.promote("2", force=True)  # another writer moves the alias first
    with pytest.raises(AliasConflictError, match="changed while moving it"):
        registry.set_alias("production", "3", ["1"], stale)
    record, _ = registry.alias("production")
    assert (record.version, record.history) == ("2", ["1"])


def test_creating_an_alias_that_someone_else_just_created_loses(
    registry: S3ModelRegistry,
) -> None:
    # No ETag: the move is create-only (If-None-Match), and `production` already exists.
    with pytest.raises(AliasConflictError):
        registry.set_alias("production", "1", [], None)


def test_serving_without_a_prediction_id_key_exits_2_before_binding_a_port(
    bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLOPS_PREDICTION_ID_KEY")
    assert main(["serve", "--port", "1"]) == 2
    assert "MLOPS_PREDICTION_ID_KEY" in error_line(capsys)
