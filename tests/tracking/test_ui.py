"""The MLflow UI of the tracking server shows what the app's client writes: the registered
model's version with its alias, tags and signature (read back from the model's artifacts in S3),
and the run with its metric and its parent run."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import headless_chrome

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

MODEL = "iris-classifier"
ACCURACY = 0.9467
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
# The React app renders after its bundle loads and its API calls answer.
RENDER_TIMEOUT = 30


@dataclass(frozen=True)
class Logged:
    experiment_id: str
    parent_run_id: str
    run_id: str
    version: str


def _model_dir(tmp_path: Path) -> Path:
    """A model folder whose MLmodel file declares the iris signature (the UI's schema view)."""
    inputs = json.dumps([{"type": "double", "name": name, "required": True} for name in FEATURES])
    outputs = json.dumps([{"type": "long", "name": "species", "required": True}])
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text(
        f"artifact_path: model\nflavors: {{}}\nsignature:\n  inputs: '{inputs}'\n"
        f"  outputs: '{outputs}'\n"
    )
    return model


def _log_a_tuning_run(client: MlflowClient, model: Path) -> Logged:
    """A parent run with one child run that is registered and aliased `production`."""
    experiment_id = client.create_experiment("iris-tuning")
    parent = client.create_run(experiment_id, run_name="grid-search")
    child = client.create_run(
        experiment_id,
        run_name="hidden-16",
        tags={"mlflow.parentRunId": parent.info.run_id},
    )
    run_id = child.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("val_accuracy", ACCURACY, int(time.time() * 1000), 0)],
        params=[Param("hidden", "16"), Param("learning_rate", "0.05")],
    )
    client.log_artifacts(run_id, str(model), "model")
    client.set_terminated(run_id)
    client.set_terminated(parent.info.run_id)
    client.create_registered_model(MODEL)
    version = client.create_model_version(
        MODEL,
        f"{child.info.artifact_uri}/model",
        run_id=run_id,
        tags={"dataset": "iris-v1"},
    ).version
    client.set_registered_model_alias(MODEL, "production", version)
    return Logged(experiment_id, parent.info.run_id, run_id, str(version))


def _wait_for_text(driver: WebDriver, text: str) -> None:
    WebDriverWait(driver, RENDER_TIMEOUT).until(
        expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), text),
        f"{text!r} did not appear on {driver.current_url} within {RENDER_TIMEOUT}s",
    )


def _text_of(driver: WebDriver, by: str, selector: str) -> str:
    """The text of the first element `selector` finds, once the app has rendered it."""
    wait = WebDriverWait(driver, RENDER_TIMEOUT)
    element = wait.until(
        expected_conditions.visibility_of_element_located((by, selector)),
        f"nothing matched {selector!r} on {driver.current_url} within {RENDER_TIMEOUT}s",
    )
    return element.text


def test_the_ui_shows_the_production_version_and_its_runs_metric(
    tracking_server: str, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_server, tracking_server)
    logged = _log_a_tuning_run(client, _model_dir(tmp_path))

    with headless_chrome() as driver:
        driver.get(f"{tracking_server}/#/models/{quote(MODEL)}/versions/{logged.version}")
        alias = _text_of(driver, By.CSS_SELECTOR, "[data-component-type='tag'][title='production']")
        assert "production" in alias
        # The page renders its parts from separate requests: wait for each, never read once.
        _wait_for_text(driver, f"Version {logged.version}")
        _wait_for_text(driver, "iris-v1")  # the version's tag
        _wait_for_text(driver, "hidden-16")  # the source run, linked
        # The schema comes from the MLmodel file, which the server reads from the bucket.
        _wait_for_text(driver, f"Inputs ({len(FEATURES)})")

        driver.get(f"{tracking_server}/#/experiments/{logged.experiment_id}/runs/{logged.run_id}")
        row = _text_of(driver, By.XPATH, "//*[@role='row'][.//a[normalize-space()='val_accuracy']]")
        assert str(ACCURACY) in row, row
        _wait_for_text(driver, "grid-search")  # the parent run
