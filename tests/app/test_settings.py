"""Settings from MLOPS_* variables, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.errors import ConfigError
from app.serving.api import create_app
from app.settings import Settings, load_settings
from tests.app.conftest import MemoryRegistry, make_settings


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


KEY = "prediction-id-key-0123456789abcdef"


def test_the_prediction_id_key_comes_from_its_file_without_the_newline(tmp_path: Path) -> None:
    key_file = tmp_path / "prediction-id-key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    settings = Settings.model_validate({"prediction_id_key_file": key_file})
    assert settings.load_prediction_id_key() == KEY.encode()
    assert Settings.model_validate({"prediction_id_key": KEY}).load_prediction_id_key() == (
        KEY.encode()
    )


def test_no_prediction_id_key_refuses_to_serve_naming_both_variables_and_how_to_make_one() -> None:
    with pytest.raises(ConfigError) as error:
        Settings().load_prediction_id_key()
    message = str(error.value)
    assert "MLOPS_PREDICTION_ID_KEY_FILE" in message and "or MLOPS_PREDICTION_ID_KEY," in message
    assert "secrets.token_urlsafe" in message


def test_a_short_prediction_id_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"MLOPS_PREDICTION_ID_KEY holds a key of 8 .* 32"):
        Settings.model_validate({"prediction_id_key": "short-ke"}).load_prediction_id_key()


def test_two_prediction_id_keys_are_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "prediction-id-key"
    key_file.write_text(KEY, encoding="utf-8")
    settings = Settings.model_validate(
        {"prediction_id_key": KEY, "prediction_id_key_file": key_file}
    )
    with pytest.raises(ConfigError, match="set only one"):
        settings.load_prediction_id_key()


def test_an_unreadable_prediction_id_key_file_names_the_path(tmp_path: Path) -> None:
    settings = Settings.model_validate({"prediction_id_key_file": tmp_path / "absent"})
    with pytest.raises(ConfigError, match=r"MLOPS_PREDICTION_ID_KEY_FILE=.*absent cannot be read"):
        settings.load_prediction_id_key()


def test_the_prediction_id_key_is_not_printed() -> None:
    assert "0123456789" not in repr(Settings.model_validate({"prediction_id_key": KEY}))


@pytest.mark.parametrize("rate", ["-0.1", "1.5", "half"])
def test_a_capture_sample_rate_outside_0_to_1_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, rate: str
) -> None:
    monkeypatch.setenv("MLOPS_CAPTURE_SAMPLE_RATE", rate)
    with pytest.raises(ConfigError, match="MLOPS_CAPTURE_SAMPLE_RATE"):
        load_settings()


def test_a_server_without_a_prediction_id_key_does_not_start(
    memory_registry: MemoryRegistry,
) -> None:
    api = create_app(registry=memory_registry, settings=make_settings(prediction_id_key=None))
    with pytest.raises(ConfigError, match="no prediction id key configured"), TestClient(api):
        pass
