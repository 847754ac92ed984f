"""CPU cost of capturing a prediction, per record, measured as thread CPU time.

What a prediction pays on the request path: a signed prediction id (instead of a uuid4) and
its records written as JSON lines; and what the capture writer's thread spends compressing
each record (zlib lets go of the interpreter lock, but on a 2-core pod it is the same CPU).
Thread CPU time, not wall time: other load on a shared machine changes it little, unlike the
throughput `bench.loadgen` measures (run that with `--capture-sample-rate 0` and `1` for the
end-to-end cost). docs/app.md, Captures: what they cost.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable

from app.capture import layout
from app.capture.writer import PredictionBatch
from app.serving.prediction_ids import PredictionIds

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = ("setosa", "versicolor", "virginica")
RECORDS = 64_000


def _per_call_us(work: Callable[[], object], calls: int) -> float:
    started = time.thread_time()
    for _ in range(calls):
        work()
    return (time.thread_time() - started) / calls * 1e6


def _batch(ids: PredictionIds, rows: int) -> PredictionBatch:
    return PredictionBatch(
        time=time.time(),
        model_version="1",
        feature_names=FEATURES,
        class_names=CLASSES,
        ids=[ids.issue("1", 0, time.time()) for _ in range(rows)],
        # Values that differ from row to row, as real ones do (gzip sees no repeats).
        rows=[[random.uniform(4, 8), random.uniform(2, 4.5), 1.4, 0.2] for _ in range(rows)],
        probabilities=[_probabilities() for _ in range(rows)],
        predicted=[0] * rows,
    )


def _probabilities() -> list[float]:
    a, b = random.random(), random.random()
    return [a / (1 + a + b), b / (1 + a + b), 1 / (1 + a + b)]


def main() -> None:
    ids = PredictionIds(b"k" * 43, "iris-classifier")
    results: dict[str, float] = {
        "id_uuid4_us": _per_call_us(lambda: uuid.uuid4().hex, RECORDS),
        "id_signed_us": _per_call_us(lambda: ids.issue("1", 0, 1.7e9), RECORDS),
    }
    for rows in (1, 32):
        batch = _batch(ids, rows)
        calls = RECORDS // rows
        encode = _per_call_us(lambda b=batch: b.json_lines("iris-classifier"), calls) / rows
        lines = [
            line
            for _ in range(5_000 // rows)
            for line in _batch(ids, rows).json_lines("iris-classifier")
        ]
        compress = _per_call_us(lambda lines=lines: layout.compress(lines), 20) / len(lines)
        results[f"encode_per_record_us_batch_{rows}"] = encode
        results[f"gzip_per_record_us_batch_{rows}"] = compress
    print(json.dumps({key: round(value, 2) for key, value in results.items()}, indent=2))


if __name__ == "__main__":
    main()
