"""Batch scoring: a CSV in, the same rows with the model's answer out, in constant memory.

Rows stream through in chunks: the input is read line by line, each chunk of `chunk_rows` rows
is one onnxruntime call, and the output is gzip-compressed as it is written. Against S3 the
output goes up as a multipart upload (boto3's transfer manager, one part buffered at a time);
a failure aborts the upload, so a half-written result never appears under the output key.

Input: a header, then rows; the model's feature columns are found by name (in any order) and
every other column (an id, a label) is passed through. Output: the input columns, then
`predicted_class` and `probability_<class>` per class.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from app import model_checks
from app.errors import DatasetError
from app.registry import ModelMetadata

CHUNK_ROWS = 8192
OUTPUT_SUFFIX = ".predictions.csv.gz"
"""Beside the input, outside what training reads (`.csv` objects) or a notification starts."""
_PART_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class BatchResult:
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def output_key(input_key: str, version: str) -> str:
    return f"{input_key.removesuffix('.csv')}.v{version}{OUTPUT_SUFFIX}"


def score_lines(
    lines: Iterable[str],
    artifact: bytes,
    meta: ModelMetadata,
    out: IO[bytes],
    source: str,
    chunk_rows: int = CHUNK_ROWS,
) -> BatchResult:
    """Score CSV `lines` (a header first) into gzip-compressed CSV on `out`."""
    start = time.perf_counter()
    session = model_checks.open_session(
        artifact, meta, f"{meta.model_name} version {meta.version}", "it cannot score"
    )
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise DatasetError(f"{source} is empty; it needs a header and rows")
    columns = _feature_columns(header, meta.feature_names, source)
    rows = 0
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as packed:
        text = io.TextIOWrapper(packed, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(
            [*header, "predicted_class", *(f"probability_{c}" for c in meta.class_names)]
        )
        for chunk, first_line in _chunks(reader, chunk_rows):
            features = _matrix(chunk, columns, source, first_line)
            probabilities = session.class_probabilities(features)
            best = probabilities.argmax(axis=1).tolist()
            for cells, cls, probs in zip(chunk, best, probabilities.tolist(), strict=True):
                writer.writerow([*cells, meta.class_names[cls], *(f"{p:.6g}" for p in probs)])
            rows += len(chunk)
        text.flush()
        text.detach()
    return BatchResult(rows, time.perf_counter() - start)


def _feature_columns(header: list[str], features: list[str], source: str) -> list[int]:
    names = [name.strip() for name in header]
    missing = [f for f in features if f not in names]
    if missing:
        raise DatasetError(
            f"{source} has no column {', '.join(map(repr, missing))}; the model needs the "
            f"columns {features} (others pass through)"
        )
    return [names.index(f) for f in features]


def line_number(reader: Any) -> int:
    """The csv reader's line count: the line of the row it just returned."""
    return int(reader.line_num)


def _chunks(reader: Any, size: int) -> Iterator[tuple[list[list[str]], int]]:
    """Chunks of non-empty rows, each with the file line of its first row (header = 1)."""
    chunk: list[list[str]] = []
    first = 2
    for row in reader:
        if not row:
            continue
        if not chunk:
            first = line_number(reader)
        chunk.append(row)
        if len(chunk) == size:
            yield chunk, first
            chunk = []
    if chunk:
        yield chunk, first


def _matrix(chunk: list[list[str]], columns: list[int], source: str, first: int) -> np.ndarray:
    try:
        values = np.array([[row[i] for i in columns] for row in chunk], dtype=np.float32)
    except (ValueError, IndexError):
        line, problem = _first_bad(chunk, columns, first)
        raise DatasetError(f"{source} line {line}: {problem}; fix or remove the row") from None
    if not np.isfinite(values).all():
        line, problem = _first_bad(chunk, columns, first)
        raise DatasetError(f"{source} line {line}: {problem}; fix or remove the row")
    return values


def _first_bad(chunk: list[list[str]], columns: list[int], first: int) -> tuple[int, str]:
    for offset, row in enumerate(chunk):
        if max(columns) >= len(row):
            return first + offset, f"{len(row)} columns, fewer than the header's"
        for i in columns:
            try:
                value = float(row[i])
            except ValueError:
                return first + offset, f"{row[i]!r} is not a number"
            if not math.isfinite(value):
                return first + offset, f"{row[i]} is not a finite number"
    return first, "a value is not a number"


def s3_lines(body: Any) -> Iterator[str]:
    """An S3 object's text, line by line, without holding it (newlines kept for csv)."""
    for line in body.iter_lines(chunk_size=1 << 16, keepends=True):
        yield line.decode("utf-8")


def score_s3(
    s3: Any,
    bucket: str,
    key: str,
    out_key: str,
    artifact: bytes,
    meta: ModelMetadata,
    chunk_rows: int = CHUNK_ROWS,
) -> BatchResult:
    """Score s3://bucket/key into s3://bucket/out_key, streaming both ways.

    Scoring writes into a pipe on a thread of its own while boto3's transfer manager reads
    the other end into a multipart upload: the pipe's buffer is all that sits between them.
    When scoring fails, the reader raises instead of ending, so the upload is aborted.
    """
    from boto3.s3.transfer import TransferConfig

    source = f"s3://{bucket}/{key}"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    read_end, write_end = os.pipe()
    outcome: list[BatchResult | BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(write_end, "wb") as out:
                outcome.append(score_lines(s3_lines(body), artifact, meta, out, source, chunk_rows))
        except BaseException as exc:  # handed to the reading side, which aborts the upload
            outcome.append(exc)

    producer = threading.Thread(target=produce, name="batch-score", daemon=True)
    producer.start()
    try:
        with os.fdopen(read_end, "rb") as raw:
            s3.upload_fileobj(
                _RaiseAtEnd(raw, producer, outcome),
                bucket,
                out_key,
                Config=TransferConfig(multipart_chunksize=_PART_BYTES, use_threads=False),
            )
    finally:
        # Closing the read end (above) ends a producer blocked on a full pipe.
        producer.join()
        body.close()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


class _RaiseAtEnd(io.RawIOBase):
    """The pipe's read end; at its end, the producer's error if it failed (so the transfer
    manager aborts the multipart upload rather than completing a truncated object)."""

    def __init__(self, raw: IO[bytes], producer: threading.Thread, outcome: list[Any]) -> None:
        self._raw = raw
        self._producer = producer
        self._outcome = outcome

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        if not data:
            self._producer.join()
            if self._outcome and isinstance(self._outcome[0], BaseException):
                raise self._outcome[0]
            return 0
        buffer[: len(data)] = data
        return len(data)
