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
import re
import secrets
import socket
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, TypedDict

import pydantic_core

from app import json_pieces

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
    numbers differently, e.g. 1e-05 as 0.00001), written in pieces (app.json_pieces) in a
    fourth of its time: the request that made them pays for it. A non-finite value, or a row
    of the wrong width, raises ValueError.
    """
    rows = list(answered)
    template = _record_template(model_name, model_version, tuple(feature_names), tuple(class_names))
    width, classes = len(feature_names), len(class_names)
    if not all(len(inputs) == width and len(probs) == classes for _, inputs, probs, _ in rows):
        raise ValueError(
            f"predictions {rows[0][0]}...: a row does not have {width} inputs and {classes} "
            "probabilities"
        )
    try:
        numbers = json_pieces.number_rows([[*inputs, *probs] for _, inputs, probs, _ in rows])
    except ValueError as error:
        raise ValueError(f"predictions {rows[0][0]}...: {error}") from None
    ids = json_pieces.string_bodies([prediction_id for prediction_id, _, _, _ in rows])
    stamp = iso_time(at).encode()
    line, class_json = template.line, template.class_json
    return [
        line % (prediction_id, stamp, *values[:width], class_json[predicted], *values[width:])
        for prediction_id, values, (_, _, _, predicted) in zip(ids, numbers, rows, strict=True)
    ]


@dataclass(frozen=True)
class _RecordTemplate:
    line: bytes
    """A `PredictionRecord`'s line with %s for the id, time, inputs, predicted class and
    probabilities, in field order; the rest is written once."""
    class_json: tuple[bytes, ...]


@lru_cache(maxsize=8)
def _record_template(
    model_name: str,
    model_version: str,
    feature_names: tuple[str, ...],
    class_names: tuple[str, ...],
) -> _RecordTemplate:
    text = json_pieces.template_text

    def numbers(names: tuple[str, ...]) -> bytes:
        return b"{" + b",".join(text(name) + b":%s" for name in names) + b"}"

    line = (
        b'{"prediction_id":"%s","time":"%s","model_name":' + text(model_name)
        + b',"model_version":' + text(model_version)
        + b',"inputs":' + numbers(feature_names)
        + b',"predicted_class":%s,"probabilities":' + numbers(class_names) + b"}\n"
    )  # fmt: skip
    return _RecordTemplate(line, tuple(pydantic_core.to_json(name) for name in class_names))


class ObjectBody:
    """One object's body, built as its records arrive: gzip-compressed JSON lines.

    The writer's thread adds each round of records as it takes them, so compressing an object
    is spread over its rounds. Compressed all at once at flush, 5,000 records were a burst of
    10 to 35 ms of CPU on a two-core pod, and the requests answered meanwhile were the slowest.
    """

    def __init__(self) -> None:
        # Level 1: half the CPU of zlib's default 6 for objects under a tenth larger
        # (measured on prediction records: 4.1x against 4.5x). wbits 31: a gzip stream.
        self._compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        self._parts: list[bytes] = []
        self.records = 0

    def add(self, lines: Sequence[bytes]) -> None:
        # One call per round, not per record: zlib lets go of the interpreter lock on every
        # call, and getting it back costs the thread up to the 5 ms switch interval.
        self._parts.append(self._compressor.compress(b"".join(lines)))
        self.records += len(lines)

    def finish(self) -> bytes:
        """The whole body; add nothing after this."""
        self._parts.append(self._compressor.flush())
        return b"".join(self._parts)


def compress(lines: Iterable[bytes]) -> bytes:
    """Lines as one object body, at once."""
    body = ObjectBody()
    body.add(list(lines))
    return body.finish()


def decode(body: bytes) -> Iterator[dict[str, Any]]:
    """The records of one object body (as written by `compress`)."""
    for line in gzip.decompress(body).decode().splitlines():
        if line:
            yield json.loads(line)
