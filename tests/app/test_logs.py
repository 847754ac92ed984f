"""The JSON logs never carry AWS credentials, whatever the level."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import botocore.exceptions
import pytest

from app.aws import s3_client
from app.logs import CREDENTIAL_LOGGERS, BatchedLineHandler, configure_logging, flush_logs
from app.serving.server import MODEL_SERVER_LIMITS, _server  # pyright: ignore[reportPrivateUsage]
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


class _Stream(io.StringIO):
    """A stream that counts its writes: each is a system call on a real stderr."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _batched(stream: _Stream, **options: float) -> logging.Logger:
    handler = BatchedLineHandler(stream, **options)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"tests.batched.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _close(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        handler.close()


def test_batched_lines_wait_and_go_out_in_one_write() -> None:
    stream = _Stream()
    logger = _batched(stream, flush_seconds=3600)
    try:
        for n in range(50):
            logger.info("request %d", n)
        assert stream.getvalue() == "", "a line was written at once"
        (handler,) = logger.handlers
        handler.flush()
        assert stream.getvalue().splitlines() == [f"INFO request {n}" for n in range(50)]
        assert stream.writes == 1
    finally:
        _close(logger)


def test_batched_lines_are_written_within_the_flush_interval_without_more_logging() -> None:
    stream = _Stream()
    logger = _batched(stream, flush_seconds=0.1)
    try:
        logger.info("the last request for a while")
        deadline = time.monotonic() + 5
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream.getvalue() == "INFO the last request for a while\n"
    finally:
        _close(logger)


def test_a_warning_is_written_at_once_after_the_lines_before_it() -> None:
    stream = _Stream()
    logger = _batched(stream, flush_seconds=3600)
    try:
        logger.info("served")
        logger.warning("capture upload failed")
        assert stream.getvalue().splitlines() == ["INFO served", "WARNING capture upload failed"]
    finally:
        _close(logger)


def test_lines_are_written_once_enough_wait_and_the_rest_at_close() -> None:
    stream = _Stream()
    logger = _batched(stream, flush_seconds=3600, max_pending_chars=100)
    logger.info("x" * 120)
    assert stream.getvalue() == "INFO " + "x" * 120 + "\n"
    logger.info("last")
    _close(logger)
    assert stream.getvalue().endswith("INFO last\n")
    (handler,) = logger.handlers
    assert isinstance(handler, BatchedLineHandler)
    handler._flusher.join(5)  # pyright: ignore[reportPrivateUsage] - the thread must end
    assert not handler._flusher.is_alive()  # pyright: ignore[reportPrivateUsage]


def test_the_model_server_batches_its_log_lines_and_other_commands_do_not(
    restored_logging: None,
) -> None:
    configure_logging("INFO", batched=True)
    assert isinstance(logging.getLogger().handlers[0], BatchedLineHandler)
    configure_logging("INFO")
    (handler,) = logging.getLogger().handlers
    assert not isinstance(handler, BatchedLineHandler)


def test_every_line_is_one_json_object_whatever_its_fields_hold(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    log = logging.getLogger("app.tests")
    log.info("plain", extra={"route": "/v1/predict", "ids": ["a", "b"], "latency_ms": 1.5})
    log.info("non-ascii", extra={"label": "ünïcode"})
    log.info("lone surrogate", extra={"key": "bad\udc80key"})  # a client's undecodable byte
    log.info("object", extra={"error": ValueError("boom")})
    lines = capsys.readouterr().err.splitlines()
    assert all(line.isascii() for line in lines)
    records = [json.loads(line) for line in lines]
    assert [r["message"] for r in records] == ["plain", "non-ascii", "lone surrogate", "object"]
    assert records[0]["ids"] == ["a", "b"] and records[0]["latency_ms"] == 1.5
    assert records[1]["label"] == "ünïcode"
    assert records[2]["key"] == "bad\udc80key"
    assert records[3]["error"] == "ValueError: boom", "as python-json-logger writes it"
    assert {"time", "level", "name"} <= records[0].keys()


def test_the_http_server_leaves_the_apps_log_handler_working(restored_logging: None) -> None:
    """Granian configures its logging when its server is built: that must not close the
    handler the app installed (its lines would wait for the next WARNING, and be lost at
    exit)."""
    configure_logging("INFO", batched=True)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, BatchedLineHandler)
    stream = _Stream()
    handler.setStream(stream)  # pyright: ignore[reportArgumentType] - a text stream
    _server(object(), "127.0.0.1", free_port(), MODEL_SERVER_LIMITS)
    assert logging.getLogger().handlers == [handler]
    for n in range(2):
        logging.getLogger("app.requests").info(f"request {n}")
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert '"message":"request 1"' in stream.getvalue(), "not written within 5 s"
    assert stream.writes == 1, "a write per line: the handler was closed"
    assert logging.getLogger("_granian").propagate, "the server's records reach the app's handler"


def test_a_closed_batched_handler_still_in_use_writes_at_once() -> None:
    stream = _Stream()
    logger = _batched(stream, flush_seconds=3600)
    _close(logger)
    logger.info("after close")
    assert stream.getvalue() == "INFO after close\n"


def test_pending_lines_on_a_closed_stderr_never_turn_an_error_exit_into_a_crash(
    restored_logging: None,
) -> None:
    closed = io.TextIOWrapper(io.BytesIO())  # a file, whose flush() refuses once closed
    closed.close()
    configure_logging("INFO", batched=True)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, BatchedLineHandler)
    handler.setStream(closed)
    logging.getLogger("app").info("pending")
    flush_logs()  # what the CLI does before it prints an error: the line cannot be written
    flush_logs()  # nothing pending: only the stream's own flush, which fails too
    handler.close()
    # A command's plain handler (nothing held back) on a closed stream: left alone.
    configure_logging("INFO")
    (plain,) = logging.getLogger().handlers
    assert isinstance(plain, logging.StreamHandler)
    plain.setStream(closed)
    flush_logs()
