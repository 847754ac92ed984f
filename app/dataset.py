"""The training data: a CSV of numeric features and a final label column.

The package ships two data sets, so training needs no download; `python -m app data upload`
seeds the bucket's `datasets/` from the one MLOPS_PACKAGED_DATASET names (default `iris`):
- `iris`: Fisher's Iris (1936, UCI Machine Learning Repository; public domain): 150 rows,
  4 measurements in cm, 3 species.
- `wine`: the UCI Wine data (Forina et al., PARVUS, 1988; UCI Machine Learning Repository,
  https://archive.ics.uci.edu/dataset/109/wine; public domain): 178 wines from one region
  of Italy, 13 chemical measurements, 3 cultivars. Written out once from scikit-learn's copy
  (`sklearn.datasets.load_wine`, values unchanged) with readable column names (`od280/od315_
  of_diluted_wines` as `od280_od315_of_diluted_wines`) and labels `cultivar_1..3` (the UCI
  class numbers).

Each comes with `<name>.schema.json` (`app.validation.DatasetSchema`). Its ranges are loose
plausibility bounds (non-negative, a few times the largest value seen), there to catch a
unit or column mix-up, not to fence in new data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

PACKAGED_DATASETS = ("iris", "wine")
"""The data sets under `app/datasets/` (MLOPS_PACKAGED_DATASET picks one)."""


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


def packaged_dataset_bytes(name: str = "iris") -> bytes:
    """The CSV of a packaged data set (`iris` or `wine`)."""
    return _packaged_file(name, f"{name}.csv")


def packaged_schema_bytes(name: str = "iris") -> bytes:
    """A packaged data set's validation schema (`app.validation.DatasetSchema`)."""
    return _packaged_file(name, f"{name}.schema.json")


def _packaged_file(name: str, file: str) -> bytes:
    from app.errors import DatasetError

    if name not in PACKAGED_DATASETS:
        raise DatasetError(
            f"no packaged data set {name!r}; the package ships {', '.join(PACKAGED_DATASETS)} "
            "(set MLOPS_PACKAGED_DATASET to one of them)"
        )
    return resources.files("app.datasets").joinpath(file).read_bytes()


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
