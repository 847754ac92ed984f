"""Where captures live in the model bucket and what one record holds (CONTRACTS.md).

  captures/<model>/predictions/date=YYYY-MM-DD/<HH>-<writer>-<seq>.jsonl.gz
  captures/<model>/labels/date=YYYY-MM-DD/<HH>-<writer>-<seq>.jsonl.gz

Each object is gzip-compressed JSON lines, one record per line. `<writer>` is the pod's name
and a random part drawn when the process starts, `<seq>` counts that writer's objects: keys
never collide between pods, between restarts of one pod, or between two flushes. The date and
hour are those of the records' own time (UTC), so a reader can list one day's objects.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import secrets
import socket
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from typing import Any, Literal, TypedDict

import pydantic_core

CAPTURES_PREFIX = "captures"
Stream = Literal["predictions", "labels"]
STREAMS: tuple[Stream, ...] = ("predictions", "labels")


class PredictionRecord(TypedDict):
    """One answered row of /v1/predict."""

    prediction_id: str
    time: str
    """ISO 8601, UTC, milliseconds."""
    model_name: str
    model_version: str
    inputs: dict[str, float]
    """Feature name → the value the client sent."""
    predicted_class: str
    probabilities: dict[str, float]


class LabelRecord(TypedDict):
    """One label counted by /v1/feedback."""

    prediction_id: str
    time: str
    model_name: str
    model_version: str
    predicted_class: str
    true_label: str


def writer_id(host: str | None = None) -> str:
    """This process's part of every key: the pod name (the hostname in Kubernetes), made
    key-safe, and a random part so a restarted pod never reuses its earlier keys."""
    name = re.sub(r"[^a-z0-9-]+", "-", (host or socket.gethostname()).lower()).strip("-")
    return f"{name[:63] or 'host'}-{secrets.token_hex(4)}"


def stream_prefix(model_name: str, stream: Stream) -> str:
    return f"{CAPTURES_PREFIX}/{model_name}/{stream}/"


def object_key(model_name: str, stream: Stream, hour: datetime, writer: str, seq: int) -> str:
    """The key of a writer's `seq`-th object of `stream` holding records of `hour` (UTC)."""
    return (
        f"{stream_prefix(model_name, stream)}date={hour:%Y-%m-%d}/"
        f"{hour:%H}-{writer}-{seq:06d}.jsonl.gz"
    )


def iso_time(seconds: float) -> str:
    """A Unix time as the records write it: `2026-12-01T00:35:25.123Z`."""
    whole, micro = divmod(round(seconds * 1_000_000), 1_000_000)
    return f"{_second(whole)}{micro // 1000:03d}Z"


@lru_cache(maxsize=4)
def _second(whole: int) -> str:
    # Formatting a date costs more than the rest of a single-row record: requests within
    # the same second share it.
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def json_lines(records: Iterable[Any]) -> list[bytes]:
    """Each record as one line of compact JSON (NaN and infinities are refused)."""
    return [json.dumps(r, separators=(",", ":"), allow_nan=False).encode() + b"\n" for r in records]


def prediction_lines(
    model_name: str,
    model_version: str,
    at: float,
    feature_names: Sequence[str],
    class_names: Sequence[str],
    answered: Iterable[tuple[str, Sequence[float], Sequence[float], int]],
) -> list[bytes]:
    """`PredictionRecord`s as JSON lines, for rows of (id, inputs, probabilities, predicted
    class index) of one request made at `at`.

    The records `json_lines` writes (the same values; pydantic's serializer writes some
    numbers differently, e.g. 1e-05 as 0.00001), in half its time: the request that made
    them pays for it. A non-finite value raises ValueError, as json.dumps(allow_nan=False)
    does (the serializer would write a bare NaN, which JSON has not).
    """
    rows = list(answered)
    values = chain.from_iterable(
        chain(inputs, probabilities) for _, inputs, probabilities, _ in rows
    )
    if not all(map(math.isfinite, values)):
        raise ValueError(f"predictions {rows[0][0]}...: a value is not a finite number")
    stamp = iso_time(at)
    to_json = pydantic_core.to_json
    return [
        to_json(
            {
                "prediction_id": prediction_id,
                "time": stamp,
                "model_name": model_name,
                "model_version": model_version,
                "inputs": dict(zip(feature_names, inputs, strict=True)),
                "predicted_class": class_names[predicted],
                "probabilities": dict(zip(class_names, probabilities, strict=True)),
            }
        )
        + b"\n"
        for prediction_id, inputs, probabilities, predicted in rows
    ]


def compress(lines: Iterable[bytes]) -> bytes:
    """Lines as one object body."""
    # Level 1: half the CPU of zlib's default 6 for objects under a tenth larger (measured on
    # prediction records: 4.1x against 4.5x). zlib lets go of the interpreter lock while it
    # compresses, but on a two-core pod the CPU is still the requests'.
    return gzip.compress(b"".join(lines), compresslevel=1)


def decode(body: bytes) -> Iterator[dict[str, Any]]:
    """The records of one object body (as written by `compress`)."""
    for line in gzip.decompress(body).decode().splitlines():
        if line:
            yield json.loads(line)
