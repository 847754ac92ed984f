"""Labelled captures become training rows: predictions joined with their labels by id."""

from __future__ import annotations

from app.capture import layout
from app.capture.join import LABEL_COLUMN, labelled_rows, rows_to_csv
from app.dataset import parse_csv

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def _prediction(pid: str, values: list[float], features: tuple[str, ...] = FEATURES) -> dict:
    return {
        "prediction_id": pid,
        "time": "2026-12-01T00:00:00.000Z",
        "model_name": "iris-classifier",
        "model_version": "1",
        "inputs": dict(zip(features, values, strict=True)),
        "predicted_class": "setosa",
        "probabilities": {"setosa": 0.9, "versicolor": 0.05, "virginica": 0.05},
    }


def _label(pid: str, true_label: str, at: str = "2026-12-01T01:00:00.000Z") -> dict:
    return {
        "prediction_id": pid,
        "time": at,
        "model_name": "iris-classifier",
        "model_version": "1",
        "predicted_class": "setosa",
        "true_label": true_label,
    }


def test_labelled_predictions_become_rows_with_the_feature_names_and_the_label() -> None:
    # Through the stored form: what the writer uploads is what the join reads.
    predictions = layout.decode(
        layout.compress(
            layout.json_lines(
                [_prediction("a", [5.1, 3.5, 1.4, 0.2]), _prediction("b", [6.7, 3.0, 5.2, 2.3])]
            )
        )
    )
    rows = labelled_rows(predictions, [_label("b", "virginica")], FEATURES)
    assert rows == [
        {
            "sepal_length": 6.7,
            "sepal_width": 3.0,
            "petal_length": 5.2,
            "petal_width": 2.3,
            LABEL_COLUMN: "virginica",
        }
    ]


def test_a_replayed_label_keeps_the_earliest_and_a_prediction_counts_once() -> None:
    labels = [
        _label("a", "versicolor", at="2026-12-01T03:00:00.000Z"),
        _label("a", "setosa", at="2026-12-01T02:00:00.000Z"),
    ]
    twice = [_prediction("a", [5.1, 3.5, 1.4, 0.2])] * 2
    assert [row[LABEL_COLUMN] for row in labelled_rows(twice, labels, FEATURES)] == ["setosa"]


def test_predictions_of_a_model_with_other_features_are_left_out() -> None:
    other = _prediction("a", [1.0, 2.0], features=("x", "y"))
    assert labelled_rows([other], [_label("a", "setosa")], FEATURES) == []


def test_rows_write_the_csv_that_training_reads() -> None:
    rows = labelled_rows(
        [_prediction("a", [5.1, 3.5, 1.4, 0.2]), _prediction("b", [6.7, 3.0, 5.2, 2.3])],
        [_label("a", "setosa"), _label("b", "virginica")],
        FEATURES,
    )
    data = parse_csv(rows_to_csv(rows, FEATURES), source="captures")
    assert data.feature_names == FEATURES
    assert data.class_names == ("setosa", "virginica")
    assert data.features.tolist()[1] == [
        6.699999809265137,
        3.0,
        5.199999809265137,
        2.299999952316284,
    ]
