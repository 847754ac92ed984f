"""The JSON logs never carry AWS credentials, whatever the level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import botocore.exceptions
import pytest

from app.aws import s3_client
from app.logs import CREDENTIAL_LOGGERS, configure_logging
from app.settings import Settings
from tests.ports import free_port

ACCESS_KEY_ID = "AKIAFAKETESTKEY01234"
SECRET_ACCESS_KEY = "fake-secret-access-key-0123456789abcdefgh"
SESSION_TOKEN = "fake-session-token-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in CREDENTIAL_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def test_debug_logs_of_a_signed_s3_call_hold_no_credentials(
    restored_logging: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    configure_logging("DEBUG")
    # Nothing listens there: the request is signed (and, at DEBUG, logged) and then fails.
    settings = Settings(s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    s3 = s3_client(settings)
    logging.getLogger("app").debug("about to call S3")
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        s3.get_object(Bucket="models", Key="models/iris-classifier/aliases/production.json")
    logged = capsys.readouterr().err
    assert "about to call S3" in logged, "the app's own DEBUG records still appear"
    for name, secret in [
        ("access key id", ACCESS_KEY_ID),
        ("secret access key", SECRET_ACCESS_KEY),
        ("session token", SESSION_TOKEN),
    ]:
        assert secret not in logged, f"the {name} was logged"
