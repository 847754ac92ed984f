"""Settings from MLOPS_* variables, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.errors import ConfigError
from app.settings import Settings, load_settings, max_pending_predictions


def test_env_variables_fill_the_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_BUCKET", "models-bucket")
    monkeypatch.setenv("MLOPS_S3_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("MLOPS_MAX_BATCH_SIZE", "64")
    settings = load_settings()
    assert (settings.bucket, settings.s3_endpoint_url, settings.max_batch_size) == (
        "models-bucket",
        "http://127.0.0.1:4566",
        64,
    )


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_MAX_BATCH_SIZE", "0")
    with pytest.raises(ConfigError, match="MLOPS_MAX_BATCH_SIZE"):
        load_settings()


def test_bad_model_name_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_MODEL_NAME", "../etc")
    with pytest.raises(ConfigError, match="MLOPS_MODEL_NAME"):
        load_settings()


def test_missing_bucket_says_which_variable() -> None:
    with pytest.raises(ConfigError, match="MLOPS_BUCKET"):
        Settings(bucket=None).require_bucket()


def test_api_keys_come_from_env_and_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("file-key-0123456789abcdef\n\n", encoding="utf-8")
    settings = Settings.model_validate(
        {"api_keys": "env-key-0123456789abcdef, ", "api_keys_file": key_file}
    )
    assert settings.load_api_keys() == ("env-key-0123456789abcdef", "file-key-0123456789abcdef")


def test_no_api_key_refuses_to_serve() -> None:
    with pytest.raises(ConfigError, match="no API key configured"):
        Settings().load_api_keys()


def test_short_api_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        Settings.model_validate({"api_keys": "short"}).load_api_keys()


def test_unreadable_key_file_names_the_path(tmp_path: Path) -> None:
    settings = Settings.model_validate({"api_keys_file": tmp_path / "absent"})
    with pytest.raises(ConfigError, match="MLOPS_API_KEYS_FILE"):
        settings.load_api_keys()


def test_api_keys_are_not_printed() -> None:
    settings = Settings.model_validate({"api_keys": "secret-key-0123456789abcdef"})
    assert "secret-key" not in repr(settings)


def test_pending_predictions_beyond_the_memory_limit_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLOPS_PENDING_PREDICTIONS", "10000000")
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert "MLOPS_PENDING_PREDICTIONS" in message
    assert "the most is 958698" in message, "the bound for the default 1Gi pod"
    assert "MLOPS_MEMORY_LIMIT_MIB" in message, "the fix names the other setting"


def test_the_pending_bound_follows_the_memory_limit() -> None:
    assert max_pending_predictions(2048) == 2 * max_pending_predictions(1024)
    settings = Settings.model_validate({"memory_limit_mib": 4096, "pending_predictions": 3_000_000})
    assert settings.pending_predictions == 3_000_000
    with pytest.raises(ValidationError, match="pending_predictions"):
        Settings.model_validate({"memory_limit_mib": 1024, "pending_predictions": 3_000_000})
