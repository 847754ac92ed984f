"""Structured JSON logs on stderr, one object per line."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from typing import Any, TextIO

import pydantic_core
from pythonjsonlogger.json import JsonEncoder, JsonFormatter

# At DEBUG the AWS SDK logs every request it signs: access key id, session token and
# signature included. These loggers stay at WARNING whatever MLOPS_LOG_LEVEL says.
CREDENTIAL_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


def configure_logging(level: str = "INFO", *, batched: bool = False) -> None:
    """JSON lines on stderr at `level`. `batched`: gathered and written together
    (BatchedLineHandler), for the model server, which logs every request."""
    handler = BatchedLineHandler(sys.stderr) if batched else logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "asctime": "time"},
            json_serializer=_compact_json,
        )
    )
    root = logging.getLogger()
    replaced, root.handlers[:] = root.handlers[:], [handler]
    for old in replaced:
        if isinstance(old, BatchedLineHandler):  # its thread stops, what it holds is written
            old.close()
    root.setLevel(level)
    for name in CREDENTIAL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# What python-json-logger writes for values JSON has no type for (an exception as
# "ValueError: boom", e.g.); anything it does not know either, as str().
_LIBRARY_DEFAULT = JsonEncoder().default


def flush_logs() -> None:
    """Write what the root handlers hold: before printing to stderr directly, so that the
    lines come out in the order they were made."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, BatchedLineHandler):  # the only ones that hold lines back
            handler.flush()


def _compact_json(data: dict[str, Any], **_: Any) -> str:
    """A log record's fields as compact JSON, ASCII only, by pydantic's serializer: in a
    third of the time of json.dumps through the formatter's encoder (the model server writes
    a line per request). Values it cannot write (a lone surrogate, e.g.) go through
    json.dumps."""
    try:
        return pydantic_core.to_json(data, fallback=_LIBRARY_DEFAULT, ensure_ascii=True).decode()
    except pydantic_core.PydanticSerializationError:
        return json.dumps(data, default=_LIBRARY_DEFAULT)


class BatchedLineHandler(logging.StreamHandler[TextIO]):
    """Gathers lines in memory and writes them in one call: every `flush_seconds`, once
    `max_pending_chars` wait, and at once for a WARNING or worse (after the lines before it,
    in order). `close()` (logging's shutdown at exit) writes what is left.

    Why: a write per line is a system call per request, and the interpreter lock is let go
    for each; another thread takes it, and the request waits to get it back. At saturation
    that cost the model server a quarter of its requests. What a killed process loses is
    at most `flush_seconds` of INFO lines.
    """

    def __init__(
        self, stream: TextIO, flush_seconds: float = 0.5, max_pending_chars: int = 64 * 1024
    ) -> None:
        super().__init__(stream)
        self.flush_seconds = flush_seconds
        self.max_pending_chars = max_pending_chars
        self._pending: list[str] = []
        self._pending_chars = 0
        self._stopping = threading.Event()
        self._flusher = threading.Thread(target=self._flush_often, name="log-flush", daemon=True)
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        # Called under the handler's lock (Handler.handle takes it).
        try:
            line = self.format(record) + self.terminator
        except Exception:  # as StreamHandler.emit: a record that cannot be formatted
            self.handleError(record)
            return
        self._pending.append(line)
        self._pending_chars += len(line)
        if (
            record.levelno >= logging.WARNING
            or self._pending_chars >= self.max_pending_chars
            or self._stopping.is_set()  # closed, yet still in use: nothing flushes later
        ):
            self.flush()

    def flush(self) -> None:
        with self.lock or threading.RLock():
            if self._pending:
                text = "".join(self._pending)
                self._pending.clear()
                self._pending_chars = 0
                try:
                    self.stream.write(text)
                except (OSError, ValueError):  # stderr closed or gone: nowhere to say so
                    return
            with contextlib.suppress(OSError, ValueError):
                super().flush()

    def close(self) -> None:
        self._stopping.set()
        self.flush()
        super().close()

    def _flush_often(self) -> None:
        while not self._stopping.wait(self.flush_seconds):
            self.flush()
