"""Uploads captures off the request path: a bounded in-memory buffer drained by a thread.

A request only appends to the buffer (a lock and a deque append). The thread turns what is
queued into JSON lines, and uploads one gzip object per stream and hour once `flush_records`
are waiting, once the oldest has waited `flush_seconds`, and when the writer closes (the
app's shutdown). Everything held in memory, queued or encoded, counts against
`max_records`; beyond it new records are dropped and counted, so a slow or unreachable
bucket costs captures, never a prediction or the pod's memory.
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
from app.capture.layout import LabelRecord, PredictionRecord, Stream

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
    """How often the thread encodes what was queued. Often, so that each round is short: the
    thread holds the interpreter lock while it encodes, and a long round makes requests wait
    for it in steps of the 5 ms switch interval."""
    close_seconds: float = 10.0
    """How long shutdown waits for the last upload (the pod's grace period is 30 s)."""

    def __post_init__(self) -> None:
        if not 0 < self.flush_records <= self.max_records:
            raise ValueError(
                f"flush_records={self.flush_records} must be in (0, max_records={self.max_records}]"
            )


@dataclass(frozen=True, slots=True)
class PredictionBatch:
    """One request's answered rows, as the route has them; records are built by the thread."""

    time: float
    model_version: str
    feature_names: Sequence[str]
    class_names: Sequence[str]
    ids: Sequence[str]
    rows: Sequence[Sequence[float]]
    probabilities: Sequence[Sequence[float]]
    predicted: Sequence[int]

    def json_lines(self, model_name: str) -> list[str]:
        """The records as JSON lines (the text `layout.json_lines(self.records(...))` gives,
        built faster)."""
        return layout.prediction_lines(
            model_name,
            self.model_version,
            self.time,
            self.feature_names,
            self.class_names,
            zip(self.ids, self.rows, self.probabilities, self.predicted, strict=True),
        )

    def records(self, model_name: str) -> list[PredictionRecord]:
        """The records, as dicts: what each JSON line holds."""
        stamp = layout.iso_time(self.time)
        return [
            PredictionRecord(
                prediction_id=pid,
                time=stamp,
                model_name=model_name,
                model_version=self.model_version,
                inputs=dict(zip(self.feature_names, row, strict=True)),
                predicted_class=self.class_names[cls],
                probabilities=dict(zip(self.class_names, probs, strict=True)),
            )
            for pid, row, probs, cls in zip(
                self.ids, self.rows, self.probabilities, self.predicted, strict=True
            )
        ]


_Entry = tuple[float, Stream, PredictionBatch | LabelRecord, int]
"""(time, stream, what the caller gave, how many records it makes)."""


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
        self._submit((batch.time, "predictions", batch, len(batch.ids)))

    def capture_label(self, record: LabelRecord, at: float) -> None:
        self._submit((at, "labels", record, 1))

    def _submit(self, entry: _Entry) -> None:
        count = entry[3]
        with self._lock:
            if self._held + count <= self.limits.max_records:
                self._queue.append(entry)
                self._held += count
                return
        metrics.CAPTURE_DROPPED.labels(stream=entry[1], reason="queue_full").inc(count)

    @property
    def held(self) -> int:
        """Records in memory, queued or encoded and not yet uploaded."""
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
        buffers: dict[tuple[Stream, datetime], list[str]] = defaultdict(list)
        oldest: float | None = None
        while True:
            stopping = self._stop.wait(self.limits.poll_seconds)
            taken = self._take()
            if taken and oldest is None:
                oldest = time.monotonic()
            for entry in taken:
                self._encode(entry, buffers)
            waiting = sum(len(lines) for lines in buffers.values())
            metrics.CAPTURE_QUEUE.set(self._held)
            due = oldest is not None and (
                waiting >= self.limits.flush_records
                or time.monotonic() - oldest >= self.limits.flush_seconds
            )
            if due or (stopping and buffers):
                self._flush(buffers)
                buffers.clear()
                oldest = None
                metrics.CAPTURE_QUEUE.set(self._held)
            if stopping:
                return

    def _take(self) -> list[_Entry]:
        with self._lock:
            taken = list(self._queue)
            self._queue.clear()
        return taken

    def _encode(self, entry: _Entry, buffers: dict[tuple[Stream, datetime], list[str]]) -> None:
        at, stream, item, count = entry
        try:
            if isinstance(item, PredictionBatch):
                lines = item.json_lines(self.model_name)
            else:
                lines = layout.json_lines([item])
        except Exception:  # a record that cannot be written must not stop the thread
            log.exception("capture record not encodable; dropped", extra={"stream": stream})
            metrics.CAPTURE_DROPPED.labels(stream=stream, reason="encode_failed").inc(count)
            with self._lock:
                self._held -= count
            return
        buffers[(stream, _hour(at))].extend(lines)

    def _flush(self, buffers: dict[tuple[Stream, datetime], list[str]]) -> None:
        for (stream, hour), lines in buffers.items():
            self._seq += 1
            key = layout.object_key(self.model_name, stream, hour, self._writer, self._seq)
            started = time.perf_counter()
            try:
                self._put(key, layout.compress(lines))
            except Exception as exc:  # any failure of the store costs these records only
                metrics.CAPTURE_FLUSHES.labels(outcome="failed").inc()
                metrics.CAPTURE_DROPPED.labels(stream=stream, reason="write_failed").inc(len(lines))
                log.warning(
                    "capture upload failed; records dropped",
                    extra={
                        "key": key,
                        "records": len(lines),
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
            else:
                metrics.CAPTURE_FLUSHES.labels(outcome="ok").inc()
                metrics.CAPTURE_WRITTEN.labels(stream=stream).inc(len(lines))
            finally:
                metrics.CAPTURE_FLUSH_DURATION.observe(time.perf_counter() - started)
                with self._lock:
                    self._held -= len(lines)


def _hour(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC).replace(minute=0, second=0, microsecond=0)


def s3_put(s3: Any, bucket: str) -> Put:
    """`Put` on an S3 client (the serving role may PutObject under `captures/`)."""

    def put(key: str, body: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/gzip")

    return put
