"""Uploads captures off the request path: a bounded in-memory buffer drained by a thread.

A request encodes its records as JSON lines (microseconds a row) and appends them to the
buffer (a lock and a deque append). The thread compresses and uploads one gzip object per
stream and hour once `flush_records` are waiting, once the oldest has waited
`flush_seconds`, and when the writer closes (the app's shutdown). Everything held in memory
counts against `max_records`; beyond it new records are dropped and counted, so a slow or
unreachable bucket costs captures, never a prediction or the pod's memory.

Why the request encodes and not the thread: the thread would hold the interpreter lock for
a whole round of records, and a request that let go of the lock meanwhile (onnxruntime does,
to infer) waited for the switch interval (5 ms) to get it back: at saturation that cost the
server twice the encoding itself. zlib and the upload let go of the lock while they work.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app import metrics
from app.capture import layout
from app.capture.layout import LabelRecord, Stream

log = logging.getLogger(__name__)

Put = Callable[[str, bytes], None]
"""Writes one object: (key, gzip body). Raises on failure."""


@dataclass(frozen=True, kw_only=True)
class CaptureLimits:
    """How much the writer holds and how often it uploads; docs/app.md, Captures."""

    max_records: int = 50_000
    """Records held in memory at most (about 0.5 KB each for the Iris model: ~25 MB)."""
    flush_records: int = 5_000
    """Upload once this many records wait."""
    flush_seconds: float = 60.0
    """Upload once the oldest waiting record is this old."""
    poll_seconds: float = 0.1
    """How often the thread takes what was queued and checks whether an upload is due."""
    close_seconds: float = 10.0
    """How long shutdown waits for the last upload (the pod's grace period is 30 s)."""

    def __post_init__(self) -> None:
        if not 0 < self.flush_records <= self.max_records:
            raise ValueError(
                f"flush_records={self.flush_records} must be in (0, max_records={self.max_records}]"
            )


@dataclass(frozen=True, slots=True)
class PredictionBatch:
    """One request's answered rows, as the route has them: `json_lines` writes the records."""

    time: float
    model_version: str
    feature_names: Sequence[str]
    class_names: Sequence[str]
    ids: Sequence[str]
    rows: Sequence[Sequence[float]]
    probabilities: Sequence[Sequence[float]]
    predicted: Sequence[int]

    def json_lines(self, model_name: str) -> list[bytes]:
        """The request's `PredictionRecord`s as JSON lines (layout.prediction_lines)."""
        return layout.prediction_lines(
            model_name,
            self.model_version,
            self.time,
            self.feature_names,
            self.class_names,
            zip(self.ids, self.rows, self.probabilities, self.predicted, strict=True),
        )


_Entry = tuple[float, Stream, list[bytes]]
"""(time, stream, the records as JSON lines)."""


class CaptureWriter:
    """Captures of one model, written under `captures/<model_name>/` by `put`."""

    def __init__(
        self,
        put: Put,
        model_name: str,
        sample_rate: float = 1.0,
        limits: CaptureLimits | None = None,
        writer: str | None = None,
    ) -> None:
        self._put = put
        self.model_name = model_name
        self.sample_rate = sample_rate
        self.limits = limits or CaptureLimits()
        self._writer = writer or layout.writer_id()
        self._seq = 0
        self._queue: deque[_Entry] = deque()
        self._held = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Every series exists from the start: increase() misses a counter's first step.
        for stream in layout.STREAMS:
            metrics.CAPTURE_WRITTEN.labels(stream=stream)
            for reason in metrics.CAPTURE_DROP_REASONS:
                metrics.CAPTURE_DROPPED.labels(stream=stream, reason=reason)

    # The request side: never blocks on I/O, never raises.

    def capture_predictions(self, batch: PredictionBatch) -> None:
        """Queue a request's predictions, unless sampling leaves them out."""
        rate = self.sample_rate
        if rate < 1.0 and random.random() >= rate:  # noqa: S311 - sampling, not secrecy
            return
        self._submit(
            batch.time, "predictions", len(batch.ids), lambda: batch.json_lines(self.model_name)
        )

    def capture_label(self, record: LabelRecord, at: float) -> None:
        self._submit(at, "labels", 1, lambda: layout.json_lines([record]))

    def _submit(
        self, at: float, stream: Stream, records: int, encode: Callable[[], list[bytes]]
    ) -> None:
        # Full (the bucket is slow or away): drop before spending anything on encoding.
        if self._held + records > self.limits.max_records:
            metrics.CAPTURE_DROPPED.labels(stream=stream, reason="queue_full").inc(records)
            return
        try:
            lines = encode()
        except Exception:  # a record that cannot be written must not fail the request
            log.exception("capture record not encodable; dropped", extra={"stream": stream})
            metrics.CAPTURE_DROPPED.labels(stream=stream, reason="encode_failed").inc(records)
            return
        with self._lock:
            if self._held + records <= self.limits.max_records:
                self._queue.append((at, stream, lines))
                self._held += records
                return
        metrics.CAPTURE_DROPPED.labels(stream=stream, reason="queue_full").inc(records)

    @property
    def held(self) -> int:
        """Records in memory: queued, or waiting for their upload."""
        return self._held

    # The thread.

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Upload what is held and stop; gives up after `close_seconds`."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(self.limits.close_seconds)
        if self._thread.is_alive():
            log.warning(
                "capture writer did not finish uploading before shutdown",
                extra={"records_lost": self._held},
            )

    def _run(self) -> None:
        bodies: dict[tuple[Stream, datetime], layout.ObjectBody] = {}
        oldest: float | None = None
        while True:
            stopping = self._stop.wait(self.limits.poll_seconds)
            taken = self._take()
            if taken and oldest is None:
                oldest = time.monotonic()
            rounds: dict[tuple[Stream, datetime], list[bytes]] = defaultdict(list)
            for at, stream, lines in taken:
                rounds[(stream, _hour(at))].extend(lines)
            for where, lines in rounds.items():
                bodies.setdefault(where, layout.ObjectBody()).add(lines)
            waiting = sum(body.records for body in bodies.values())
            metrics.CAPTURE_QUEUE.set(self._held)
            due = oldest is not None and (
                waiting >= self.limits.flush_records
                or time.monotonic() - oldest >= self.limits.flush_seconds
            )
            if due or (stopping and bodies):
                self._flush(bodies)
                bodies.clear()
                oldest = None
                metrics.CAPTURE_QUEUE.set(self._held)
            if stopping:
                return

    def _take(self) -> list[_Entry]:
        with self._lock:
            taken = list(self._queue)
            self._queue.clear()
        return taken

    def _flush(self, bodies: dict[tuple[Stream, datetime], layout.ObjectBody]) -> None:
        for (stream, hour), body in bodies.items():
            self._seq += 1
            key = layout.object_key(self.model_name, stream, hour, self._writer, self._seq)
            started = time.perf_counter()
            records = body.records
            try:
                self._put(key, body.finish())
            except Exception as exc:  # any failure of the store costs these records only
                metrics.CAPTURE_FLUSHES.labels(outcome="failed").inc()
                metrics.CAPTURE_DROPPED.labels(stream=stream, reason="write_failed").inc(records)
                log.warning(
                    "capture upload failed; records dropped",
                    extra={
                        "key": key,
                        "records": records,
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
            else:
                metrics.CAPTURE_FLUSHES.labels(outcome="ok").inc()
                metrics.CAPTURE_WRITTEN.labels(stream=stream).inc(records)
            finally:
                metrics.CAPTURE_FLUSH_DURATION.observe(time.perf_counter() - started)
                with self._lock:
                    self._held -= records


def _hour(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC).replace(minute=0, second=0, microsecond=0)


def s3_put(s3: Any, bucket: str) -> Put:
    """`Put` on an S3 client (the serving role may PutObject under `captures/`)."""

    def put(key: str, body: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/gzip")

    return put
