"""The packaged Wine data: 178 wines, 13 measurements, 3 cultivars, and a schema that
accepts every row of it and refuses implausible ones."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from app.dataset import packaged_dataset_bytes, packaged_schema_bytes, parse_csv
from app.errors import DatasetError
from app.validation import DatasetSchema, check_row


def _schema() -> DatasetSchema:
    return DatasetSchema.model_validate_json(packaged_schema_bytes("wine"))


def test_wine_parses_as_the_uci_data_set() -> None:
    wine = parse_csv(packaged_dataset_bytes("wine"), source="packaged wine.csv")
    assert wine.features.shape == (178, 13)
    assert wine.class_names == ("cultivar_1", "cultivar_2", "cultivar_3")
    assert np.bincount(wine.labels).tolist() == [59, 71, 48]
    assert "proline" in wine.feature_names


def test_every_wine_row_passes_its_schema() -> None:
    schema = _schema()
    rows = list(csv.reader(io.StringIO(packaged_dataset_bytes("wine").decode())))
    header, body = rows[0], rows[1:]
    assert header[:-1] == list(schema.features), "the schema lists the CSV's columns in order"
    rejected = [
        (line, outcome)
        for line, cells in enumerate(body, start=2)
        for values, outcome in [check_row(cells, schema, header[:-1])]
        if values is None
    ]
    assert rejected == []


def test_the_wine_schema_refuses_a_row_in_other_units() -> None:
    first = packaged_dataset_bytes("wine").decode().splitlines()[1].split(",")
    grams = [*first[:-2], str(float(first[-2]) * 1000), first[-1]]  # proline in µg/L
    values, outcome = check_row(grams, _schema(), list(_schema().features))
    assert values is None
    assert outcome[0] == "out_of_range", outcome


def test_an_unknown_packaged_data_set_names_the_variable_and_the_choices() -> None:
    with pytest.raises(DatasetError, match=r"iris, wine \(set MLOPS_PACKAGED_DATASET"):
        packaged_dataset_bytes("beer")
