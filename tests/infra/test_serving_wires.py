"""What the serving and training pods are told about captures, prediction ids and tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.settings import MIN_PREDICTION_ID_KEY_CHARS, Settings
from infra import contracts
from infra.config.models import ModelConfig
from infra_tools.synth import synthesize
from infra_tools.type_tokens import RANDOM_PASSWORD
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with
from tests.infra.test_workloads import app_config, pod_spec

STACKS = ("dev", "prod")


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def _server(graph: Graph) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = pod_spec(graph.manifest("Deployment", contracts.model_server("iris-classifier")))
    (container,) = spec["containers"]
    return spec, container


@pytest.mark.parametrize("stack", STACKS)
def test_the_prediction_id_key_is_a_generated_secret_file(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    (password,) = graph.of_type(RANDOM_PASSWORD)
    assert password["inputs"]["length"] >= MIN_PREDICTION_ID_KEY_CHARS
    secret = graph.manifest("Secret", f"{contracts.MODEL_SERVER}-prediction-id-key")
    assert secret["stringData"] == "[secret]", "the key must stay a Pulumi secret"
    spec, container = _server(graph)
    path = Path(_env(container)["MLOPS_PREDICTION_ID_KEY_FILE"])
    assert path == Path(contracts.SECRETS_DIR) / contracts.PREDICTION_ID_KEY_FILE_NAME
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == contracts.SECRETS_DIR]
    assert mount["readOnly"] is True
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    names = [source["secret"]["name"] for source in volume["projected"]["sources"]]
    assert secret["metadata"]["name"] in names
    assert all(key not in _env(container) for key in ("MLOPS_PREDICTION_ID_KEY",))


@pytest.mark.parametrize("stack", STACKS)
def test_serving_captures_the_configured_share(graphs: dict[str, Graph], stack: str) -> None:
    _, container = _server(graphs[stack])
    configured = app_config(stack)["models"][0].get(
        "captureSampleRate", ModelConfig.model_fields["capture_sample_rate"].default
    )
    value = _env(container)["MLOPS_CAPTURE_SAMPLE_RATE"]
    assert float(value) == configured
    assert Settings.model_validate({"capture_sample_rate": value}).capture_sample_rate == configured


def test_a_lower_capture_rate_reaches_the_pods(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {"mlops-platform:app.models.0.captureSampleRate": 0.05})
    _, container = _server(synthesize("dev", root).graph)
    assert _env(container)["MLOPS_CAPTURE_SAMPLE_RATE"] == "0.05"


@pytest.mark.parametrize("stack", STACKS)
def test_training_pods_log_to_the_tracking_server(graphs: dict[str, Graph], stack: str) -> None:
    (container,) = pod_spec(
        graphs[stack].manifest("CronJob", contracts.retrain_cronjob("iris-classifier"))
    )["containers"]
    assert _env(container)["MLOPS_TRACKING_URI"] == contracts.TRACKING_URI


def test_without_a_tracking_server_training_gets_no_uri(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {"mlops-platform:tracking.enabled": False})
    graph = synthesize("dev", root).graph
    (container,) = pod_spec(
        graph.manifest("CronJob", contracts.retrain_cronjob("iris-classifier"))
    )["containers"]
    assert "MLOPS_TRACKING_URI" not in _env(container)
    assert not [m for m in graph.manifests() if m["metadata"].get("namespace") == "tracking"]
