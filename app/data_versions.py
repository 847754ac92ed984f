"""A dataset version: every CSV object under a dataset prefix, exactly as read.

New data arrives as new objects under the prefix (`data upload`, and `data harvest` for
labelled captures); nothing is ever rewritten in place. A training reads all of them, keeps
each object's S3 version id, and names what it read by a digest of the objects' keys and
contents: uploading the same bytes again gives the same digest (and a retrain trains
nothing), one new or changed object gives another.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from app import s3_objects
from app.dataset import Dataset, DatasetVersion
from app.errors import DatasetError, ModelNotFoundError
from app.validation import DatasetSchema, ValidationReport, check_row

SCHEMA_FILE = "schema.json"
DATA_SUFFIX = ".csv"


@dataclass(frozen=True)
class LoadedDataset:
    data: Dataset
    version: DatasetVersion
    report: ValidationReport


def load(s3: Any, bucket: str, prefix: str, pinned: dict[str, str] | None = None) -> LoadedDataset:
    """Read, validate and combine every CSV under `prefix`; DatasetError when there is none,
    when objects disagree on their header, or when too many rows are rejected.

    `pinned` (key → S3 version id, as a DatasetVersion records them) reads exactly those
    objects at those versions instead: every step of one pipeline trains on the same rows,
    whatever lands meanwhile."""
    listed = pinned.keys() if pinned is not None else s3_objects.list_names(s3, bucket, prefix)
    keys = sorted(
        key for key in listed if key.endswith(DATA_SUFFIX) and "/_" not in key[len(prefix) - 1 :]
    )
    where = f"s3://{bucket}/{prefix}"
    if not keys:
        raise DatasetError(
            f"{where} holds no {DATA_SUFFIX} object; seed it with `python -m app data upload`"
        )
    report = ValidationReport()
    rows: list[list[float]] = []
    labels: list[str] = []
    versions: dict[str, str] = {}
    manifest = hashlib.sha256()
    # The schema is part of the version: another schema accepts other rows.
    schema = _schema(s3, bucket, prefix, versions, manifest, pinned)
    header: list[str] | None = list(schema.features) if schema else None
    for key in keys:
        body, _, version_id = s3_objects.read_version(
            s3, bucket, key, version_id=(pinned or {}).get(key) or None
        )
        versions[key] = version_id or ""
        manifest.update(f"{key}\0{hashlib.sha256(body).hexdigest()}\n".encode())
        header = _read_rows(f"s3://{bucket}/{key}", body, header, schema, report, rows, labels)
    assert header is not None
    _require_enough(report, schema, where)
    digest = manifest.hexdigest()
    data = _dataset(rows, labels, header, digest, where)
    name = prefix.rstrip("/").rsplit("/", 1)[-1]
    return LoadedDataset(data, DatasetVersion(name, where, digest, versions), report)


def check_upload(s3: Any, bucket: str, prefix: str, body: bytes, source: str) -> int:
    """Rows of a CSV about to join the dataset, checked as training will check them (the
    prefix's schema, else the existing objects' header); DatasetError naming the first bad
    row. One object may hold a single class: the dataset is all objects together."""
    schema = _schema(s3, bucket, prefix, {}, hashlib.sha256())
    header = list(schema.features) if schema else _existing_header(s3, bucket, prefix)
    report = ValidationReport()
    _read_rows(source, body, header, schema, report, [], [])
    if report.rejected:
        first = report.rejections[0]
        raise DatasetError(
            f"{source} line {first.line}: {first.reason} ({report.summary()}); nothing was "
            "uploaded: fix the rows"
        )
    if not report.accepted:
        raise DatasetError(f"{source} has no rows; nothing was uploaded")
    return report.accepted


def _existing_header(s3: Any, bucket: str, prefix: str) -> list[str] | None:
    try:
        return feature_names(s3, bucket, prefix)
    except DatasetError:
        return None  # the first object: it sets the header


def feature_names(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The dataset's feature columns: its schema's, else the first CSV's header."""
    schema = _schema(s3, bucket, prefix, {}, hashlib.sha256())
    if schema is not None:
        return list(schema.features)
    for key in sorted(s3_objects.list_names(s3, bucket, prefix)):
        if key.endswith(DATA_SUFFIX):
            body, _ = s3_objects.read(s3, bucket, key)
            first = body.decode("utf-8-sig", errors="replace").partition("\n")[0]
            header = next(csv.reader([first]), list[str]())
            return [cell.strip() for cell in header][:-1]
    raise DatasetError(
        f"s3://{bucket}/{prefix} has neither a schema.json nor a CSV to take the feature "
        "names from; seed it with `python -m app data upload`"
    )


def _schema(
    s3: Any,
    bucket: str,
    prefix: str,
    versions: dict[str, str],
    manifest: Any,
    pinned: dict[str, str] | None = None,
) -> DatasetSchema | None:
    key = f"{prefix}{SCHEMA_FILE}"
    if pinned is not None and key not in pinned:
        return None
    try:
        raw, _, version_id = s3_objects.read_version(
            s3, bucket, key, version_id=(pinned or {}).get(key) or None
        )
    except ModelNotFoundError:
        return None
    versions[key] = version_id or ""
    manifest.update(f"{key}\0{hashlib.sha256(raw).hexdigest()}\n".encode())
    return s3_objects.parse(
        DatasetSchema,
        raw,
        f"s3://{bucket}/{key}",
        "a valid dataset schema",
        "fix it (see app/validation.py) or delete it to train without ranges",
    )


def _read_rows(
    source: str,
    body: bytes,
    header: list[str] | None,
    schema: DatasetSchema | None,
    report: ValidationReport,
    rows: list[list[float]],
    labels: list[str],
) -> list[str]:
    try:
        text = body.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not a column name
    except UnicodeDecodeError:
        raise DatasetError(f"{source} is not UTF-8 text; upload a UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text))
    found = [cell.strip() for cell in next(reader, list[str]())]
    names = found[:-1]
    if header is None:
        header = names
    if names != header:
        raise DatasetError(
            f"{source} has the columns {found}, not {[*header, 'label']}: every object of a "
            "dataset has the same features in the same order, then the label"
        )
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue
        values, outcome = check_row(cells, schema, header)
        if values is None:
            kind, reason = outcome
            report.reject(source, line, kind, reason)
            continue
        assert isinstance(outcome, str)
        report.accepted += 1
        rows.append(values)
        labels.append(outcome)
    return header


def _require_enough(report: ValidationReport, schema: DatasetSchema | None, where: str) -> None:
    most = (
        schema.max_rejected_share
        if schema
        else DatasetSchema.model_fields["max_rejected_share"].default
    )
    if report.rejected_share > most:
        first = report.rejections[0]
        raise DatasetError(
            f"{where}: {report.summary()}, more than the {most:.0%} allowed; nothing was "
            f"trained. First: {first.source} line {first.line}: {first.reason}"
        )


def _dataset(
    rows: list[list[float]], labels: list[str], header: list[str], digest: str, where: str
) -> Dataset:
    class_names = tuple(sorted(set(labels)))
    if len(class_names) < 2:
        raise DatasetError(f"{where} has {len(class_names)} class(es); a classifier needs >= 2")
    index = {name: i for i, name in enumerate(class_names)}
    return Dataset(
        features=np.asarray(rows, dtype=np.float32),
        labels=np.asarray([index[label] for label in labels], dtype=np.int64),
        feature_names=tuple(header),
        class_names=class_names,
        sha256=digest,
    )
