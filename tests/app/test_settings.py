"""Settings from MLOPS_* variables, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError
from app.settings import Settings, load_settings


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
