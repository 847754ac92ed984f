"""Labelled captures as training rows: predictions joined with their labels by id.

For the training side (it imports nothing of serving): read the objects of
`captures/<model>/predictions/` and `captures/<model>/labels/` (`layout.decode`), pass their
records here, and get rows with the model's feature names and the true label.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LABEL_COLUMN = "label"


def labelled_rows(
    predictions: Iterable[Mapping[str, Any]],
    labels: Iterable[Mapping[str, Any]],
    feature_names: Sequence[str],
) -> list[dict[str, Any]]:
    """One row per prediction that has a label: its inputs under `feature_names` and the
    label under `LABEL_COLUMN`, in the order of `predictions`.

    A prediction id labelled more than once (a replay on another replica, or after a
    restart) keeps its earliest label. A prediction without a label is left out, and so is
    one whose inputs lack a feature (captured for a model with other features).
    """
    first: dict[str, tuple[str, str]] = {}
    for record in labels:
        pid, at = str(record["prediction_id"]), str(record["time"])
        if pid not in first or at < first[pid][0]:
            first[pid] = (at, str(record["true_label"]))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record in predictions:
        pid = str(record["prediction_id"])
        inputs: Mapping[str, Any] = record["inputs"]
        if pid not in first or pid in seen or any(name not in inputs for name in feature_names):
            continue
        seen.add(pid)
        rows.append({**{name: inputs[name] for name in feature_names}, LABEL_COLUMN: first[pid][1]})
    return rows


def rows_to_csv(rows: Iterable[Mapping[str, Any]], feature_names: Sequence[str]) -> bytes:
    """The rows as the training CSV (`app.dataset.parse_csv`): the features, then the label."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*feature_names, LABEL_COLUMN])
    for row in rows:
        writer.writerow([*(repr(float(row[name])) for name in feature_names), row[LABEL_COLUMN]])
    return out.getvalue().encode()
