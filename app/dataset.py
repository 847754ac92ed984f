"""The training data: a CSV of numeric features and a final label column.

The package ships the Iris data set (Fisher 1936, UCI; public domain), so training needs no
download; `python -m app data upload` seeds the bucket's `datasets/` from it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

PACKAGED_DATASET = "iris.csv"
PACKAGED_SCHEMA = "iris.schema.json"


@dataclass(frozen=True)
class Dataset:
    features: np.ndarray
    """float32, shape (rows, features)."""
    labels: np.ndarray
    """int64 class indices into `class_names`."""
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    sha256: str
    """sha256 of the CSV bytes, recorded with every model trained on it."""

    def subset(self, rows: np.ndarray) -> Dataset:
        """These rows, with the same names and digest (the digest names the source)."""
        return Dataset(
            features=self.features[rows],
            labels=self.labels[rows],
            feature_names=self.feature_names,
            class_names=self.class_names,
            sha256=self.sha256,
        )


@dataclass(frozen=True)
class DatasetVersion:
    """Which data a training read: where from, the exact objects, and a digest of the rows'
    bytes. Recorded with the run and the registered version."""

    name: str
    uri: str
    """s3://bucket/key, a local path, or `packaged:<file>`."""
    digest: str
    """sha256 of the bytes read (the Dataset's `sha256`)."""
    object_versions: dict[str, str]
    """S3 key → version id of each object read; empty for local files, and a key maps to ""
    when its bucket keeps no versions."""


def packaged_dataset_bytes() -> bytes:
    return resources.files("app.datasets").joinpath(PACKAGED_DATASET).read_bytes()


def packaged_schema_bytes() -> bytes:
    """The packaged dataset's validation schema (`app.validation.DatasetSchema`)."""
    return resources.files("app.datasets").joinpath(PACKAGED_SCHEMA).read_bytes()


def parse_csv(raw: bytes, source: str = "dataset") -> Dataset:
    """Parse a header + rows CSV; every error names the source, the row and the fix."""
    from app.errors import DatasetError

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{source} is not UTF-8 text; provide a UTF-8 CSV") from exc
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2 or len(rows[0]) < 2:
        raise DatasetError(
            f"{source} needs a header and at least one row with >= 1 feature and a label column"
        )
    header, body = rows[0], [row for row in rows[1:] if row]
    features: list[list[float]] = []
    labels: list[str] = []
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DatasetError(
                f"{source} line {line} has {len(row)} columns, the header has {len(header)}"
            )
        try:
            values = [float(cell) for cell in row[:-1]]
        except ValueError as exc:
            raise DatasetError(f"{source} line {line}: feature is not a number ({exc})") from exc
        if not all(math.isfinite(value) for value in values):
            raise DatasetError(f"{source} line {line}: features must be finite (no NaN/inf)")
        features.append(values)
        labels.append(row[-1].strip())
    class_names = tuple(sorted(set(labels)))
    if len(class_names) < 2:
        raise DatasetError(f"{source} has {len(class_names)} class(es); a classifier needs >= 2")
    index = {name: i for i, name in enumerate(class_names)}
    return Dataset(
        features=np.asarray(features, dtype=np.float32),
        labels=np.asarray([index[label] for label in labels], dtype=np.int64),
        feature_names=tuple(name.strip() for name in header[:-1]),
        class_names=class_names,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def stratified_split(
    labels: np.ndarray, holdout_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out row indices, with every class in both in its own proportion."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    holdout: list[int] = []
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        cut = max(1, round(len(rows) * holdout_fraction))
        holdout += rows[:cut].tolist()
        train += rows[cut:].tolist()
    return np.sort(np.asarray(train)), np.sort(np.asarray(holdout))
