"""Either family trains through the same pipeline, and the server's own loader scores both;
MLOPS_MODEL_FAMILY and MLOPS_PACKAGED_DATASET choose them from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from app import model_checks
from app.cli import main
from app.dataset import DatasetVersion, packaged_dataset_bytes, parse_csv
from app.errors import ConfigError, DatasetError
from app.registry import ModelMetadata, ModelSignature
from app.settings import load_settings
from app.training import pipeline, steps
from app.training.candidates import Candidate, Family, TrainConfig

TINY: dict[Family, TrainConfig] = {
    "mlp": TrainConfig(epochs=60, grid=(Candidate(16, 0.05),), family="mlp"),
    "gradient_boosting": TrainConfig(
        epochs=40, grid=(Candidate(4, 0.1),), family="gradient_boosting"
    ),
}


@pytest.mark.parametrize("family", ["mlp", "gradient_boosting"])
def test_train_to_record_trains_either_family_into_a_model_the_server_scores(
    family: Family,
) -> None:
    iris = parse_csv(packaged_dataset_bytes("iris"))
    record = pipeline.train_to_record(
        iris, pipeline.local_dataset(iris, "iris.csv"), TINY[family], "test", "iris-classifier"
    )
    assert record is not None
    assert record.metadata.signature.family == family
    session = model_checks.open_session(record.artifact, record.metadata, family, "test")
    probabilities = session.class_probabilities(iris.features)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = float((probabilities.argmax(axis=1) == iris.labels).mean())
    assert accuracy > 0.8, f"{family} scores {accuracy:.2f} on the rows it trained on"
    assert record.metadata.metrics["accuracy"] > 0.8, record.metadata.metrics


def test_the_mlp_records_its_signature_in_the_stored_metadata(
    trained: tuple[bytes, ModelMetadata],
) -> None:
    _, meta = trained
    # Set by training, not left to the default that stands for versions registered before
    # signatures were recorded.
    assert "signature" in meta.model_fields_set
    stored = json.loads(meta.model_dump_json())
    assert stored["signature"] == ModelSignature(family="mlp").model_dump()
    assert stored["signature"]["output_kind"] == "logits"


def test_a_config_without_a_grid_trains_its_familys_default_grid() -> None:
    trees = TrainConfig(family="gradient_boosting").grid
    assert trees != TrainConfig(family="mlp").grid
    assert all(candidate.hidden >= 2 for candidate in trees), "a tree needs two leaves"


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("MLOPS_MODEL_FAMILY", "forest", "'mlp' or 'gradient_boosting'"),
        ("MLOPS_PACKAGED_DATASET", "beer", "'iris' or 'wine'"),
    ],
)
def test_an_unknown_family_or_packaged_dataset_is_refused_naming_the_variable(
    variable: str, value: str, allowed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert f"{variable}: " in str(refused.value)
    assert allowed in str(refused.value)


def test_train_packaged_wine_with_trees_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLOPS_MODEL_FAMILY", "gradient_boosting")
    monkeypatch.setenv("MLOPS_PACKAGED_DATASET", "wine")
    argv = ["train", "--data", "packaged", "--output", str(tmp_path), "--epochs", "30"]
    assert main([*argv, "--grid", "4:0.1"]) == 0, capsys.readouterr().err
    meta = ModelMetadata.model_validate_json((tmp_path / "metadata.json").read_text())
    assert meta.signature.family == "gradient_boosting"
    assert meta.class_names == ["cultivar_1", "cultivar_2", "cultivar_3"]
    assert meta.params["epochs"] == 30
    model_checks.open_session((tmp_path / "model.onnx").read_bytes(), meta, "written", "test")


def test_the_command_line_refuses_a_one_leaf_tree_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLOPS_MODEL_FAMILY", "gradient_boosting")
    argv = ["train", "--data", "packaged", "--output", str(tmp_path), "--grid", "1:0.1"]
    assert main(argv) == 2
    assert "max leaf nodes per tree, which must be >= 2; use e.g. 8:0.05" in capsys.readouterr().err
    assert not (tmp_path / "model.onnx").exists()


def test_a_pipeline_step_rereads_the_packaged_data_set_its_run_recorded() -> None:
    wine = parse_csv(packaged_dataset_bytes("wine"))
    recorded = DatasetVersion("wine", steps.packaged_uri("wine"), wine.sha256, {})
    # Packaged data needs no registry: nothing is read from the bucket.
    registry = cast(Any, None)
    assert steps.recorded_data(registry, recorded).class_names == wine.class_names
    changed = DatasetVersion("wine", steps.packaged_uri("wine"), "0" * 64, {})
    with pytest.raises(DatasetError, match="run the training again"):
        steps.recorded_data(registry, changed)


def test_reading_a_grid_for_trees_loads_no_pytorch() -> None:
    """A tree training's command line (`--grid`, `pipeline candidate`) must not pay for
    PyTorch's import: the families module promises it."""
    code = "import sys; from app import cli; cli._grid('8:0.05'); sys.exit('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], check=False, timeout=120)
    assert done.returncode == 0, "parsing a grid imported torch"
