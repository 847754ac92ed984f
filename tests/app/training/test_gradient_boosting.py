"""The gradient_boosting family on the packaged Wine data: it learns, its ONNX graph answers
what scikit-learn answers, and its metadata tells the server how to call it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from app import model_checks
from app.dataset import Dataset, packaged_dataset_bytes, parse_csv
from app.errors import ConfigError
from app.registry import ModelSignature
from app.tracking.runs import TrainingRecord
from app.training import families, pipeline
from app.training.candidates import Candidate, TrainConfig

# One candidate and 100 stages: the grid's work, a fifth of the time, on 2 CPU cores.
TREES = TrainConfig(
    epochs=100, grid=(Candidate(hidden=8, learning_rate=0.1),), family="gradient_boosting"
)


@pytest.fixture(scope="module")
def wine() -> Dataset:
    return parse_csv(packaged_dataset_bytes("wine"), source="packaged wine.csv")


@pytest.fixture(scope="module")
def record(wine: Dataset) -> TrainingRecord:
    trained = pipeline.train_to_record(
        wine,
        pipeline.local_dataset(wine, "packaged:wine.csv"),
        TREES,
        "test",
        "wine-classifier",
        holdout_fraction=0.2,
    )
    assert trained is not None, "a single process is the primary one"
    return trained


def _trees(record: TrainingRecord) -> GradientBoostingClassifier:
    model = record.result.model
    assert isinstance(model, GradientBoostingClassifier), type(model)
    return model


def test_cross_validated_accuracy_on_wine_is_well_above_chance(record: TrainingRecord) -> None:
    metrics = record.metadata.metrics
    # Three cultivars: chance is about 0.4 (the largest class's share).
    assert metrics["accuracy"] > 0.85, metrics
    assert 0 < metrics["holdout_loss"] < 0.5, metrics
    assert set(metrics) == {
        "accuracy",
        "holdout_loss",
        "train_loss",
        "cv_rows",
        "train_rows",
        "folds",
    }


def test_onnx_graph_answers_predict_proba_on_every_row(
    record: TrainingRecord, wine: Dataset
) -> None:
    session = model_checks.open_session(record.artifact, record.metadata, "wine model", "test")
    served = session.class_probabilities(wine.features)
    expected = _trees(record).predict_proba(wine.features)
    assert served.shape == (len(wine.labels), 3)
    worst = float(np.abs(served - expected).max())
    assert worst < 1e-5, f"the ONNX graph differs from scikit-learn by up to {worst:.2e}"


def test_rows_scored_together_get_bit_for_bit_what_each_gets_alone(
    record: TrainingRecord, wine: Dataset
) -> None:
    """The server scores the rows of concurrent requests in one call
    (app.serving.coalescing): that must change no answer."""
    session = model_checks.open_session(record.artifact, record.metadata, "wine model", "test")
    rows = np.asarray(wine.features, dtype=np.float32)
    alone = np.concatenate([session.class_probabilities(rows[i : i + 1]) for i in range(len(rows))])
    assert np.array_equal(session.class_probabilities(rows), alone)


def test_metadata_passes_the_registry_checks_and_names_the_probabilities_output(
    record: TrainingRecord,
) -> None:
    meta = record.metadata
    model_checks.check_metadata(meta, "wine model", "test")
    assert meta.signature == ModelSignature(
        family="gradient_boosting",
        input_tensor="input",
        output_tensor="probabilities",
        output_kind="probabilities",
    )
    assert meta.class_names == ["cultivar_1", "cultivar_2", "cultivar_3"]
    assert meta.params["max_leaf_nodes"] == 8
    assert (meta.params["device"], record.environment["device"]) == ("cpu", "cpu")
    assert "scikit-learn" in record.environment, record.environment


def test_rows_held_out_for_the_champion_comparison_are_not_trained_on(
    record: TrainingRecord, wine: Dataset
) -> None:
    assert record.holdout is not None
    held_out = len(record.holdout.labels)
    assert set(record.holdout.labels.tolist()) == {0, 1, 2}, "every class is held out"
    assert record.metadata.metrics["train_rows"] == len(wine.labels) - held_out
    # The drift baseline is the rows trained on, one reference per feature.
    assert list(record.metadata.reference) == list(wine.feature_names)


def test_a_tree_of_one_leaf_is_refused_before_training() -> None:
    with pytest.raises(ConfigError, match=r"candidate 1:0\.1: MLOPS_MODEL_FAMILY=gradient_boo"):
        TrainConfig(grid=(Candidate(hidden=1, learning_rate=0.1),), family="gradient_boosting")


def test_torchrun_is_refused_for_trees_with_what_to_do(
    wine: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError) as refused:
        families.train_candidates(wine, TREES)
    message = str(refused.value)
    assert "WORLD_SIZE=2" in message
    assert "without torchrun" in message
    assert "MLOPS_MODEL_FAMILY=mlp" in message
