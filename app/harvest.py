"""Labelled captures become training rows: one CSV object per finished day, under the dataset
prefix, where the next retraining finds them (and their arrival notifies the trigger).

For each day before today (UTC) not harvested yet, the day's predictions are joined by id with
every label captured since that day began (labels arrive after predictions, sometimes days
after) and written create-only to `<dataset prefix>captured/date=YYYY-MM-DD.csv`. A harvested
day is never rewritten, so a label that arrives after its day was harvested is not trained on:
harvest once a day, a day or more after the fact, to keep that share small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from app import s3_objects
from app.capture.join import labelled_rows, rows_to_csv
from app.capture.layout import decode, stream_prefix

CAPTURED_FOLDER = "captured/"


@dataclass(frozen=True)
class HarvestedDay:
    day: date
    key: str | None
    """The object written; None when the day had no labelled prediction, or was done."""
    rows: int


def harvest(
    s3: Any,
    bucket: str,
    model_name: str,
    dataset_prefix: str,
    feature_names: list[str],
    today: date | None = None,
) -> list[HarvestedDay]:
    """Harvest every finished day with captures that has no harvest object yet."""
    today = today or datetime.now(UTC).date()
    predictions = _days(s3, bucket, stream_prefix(model_name, "predictions"))
    labels = _days(s3, bucket, stream_prefix(model_name, "labels"))
    # Days harvested before are not read again: a run costs the new days only.
    harvested = set(s3_objects.list_names(s3, bucket, f"{dataset_prefix}{CAPTURED_FOLDER}"))
    done: list[HarvestedDay] = []
    for day in sorted(d for d in predictions if d < today):
        key = f"{dataset_prefix}{CAPTURED_FOLDER}date={day.isoformat()}.csv"
        if key in harvested:
            done.append(HarvestedDay(day, None, 0))
            continue
        predicted = _records(s3, bucket, predictions[day])
        labelled = _records(s3, bucket, [k for d, keys in labels.items() if d >= day for k in keys])
        rows = labelled_rows(predicted, labelled, feature_names)
        if not rows:
            done.append(HarvestedDay(day, None, 0))
            continue
        body = rows_to_csv(rows, feature_names)
        written = s3_objects.put(s3, bucket, key, body, {"IfNoneMatch": "*"})
        done.append(HarvestedDay(day, key if written else None, len(rows) if written else 0))
    return done


def _days(s3: Any, bucket: str, prefix: str) -> dict[date, list[str]]:
    """Object keys of a capture stream by the day in their `date=` folder."""
    found: dict[date, list[str]] = {}
    for key in s3_objects.list_names(s3, bucket, prefix):
        folder = key[len(prefix) :].split("/", 1)[0]
        if not folder.startswith("date="):
            continue
        try:
            day = date.fromisoformat(folder.removeprefix("date="))
        except ValueError:
            continue
        found.setdefault(day, []).append(key)
    return found


def _records(s3: Any, bucket: str, keys: list[str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for key in sorted(keys):
        body, _ = s3_objects.read(s3, bucket, key)
        records.extend(decode(body))
    return records
