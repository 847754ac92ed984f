"""The names infra and the app share live in infra.contracts; both sides must agree on them."""

from __future__ import annotations

import subprocess
import sys
from typing import Any
from unittest.mock import Mock

import pytest

from app.harvest import CAPTURED_FOLDER
from app.settings import Settings
from app.trigger.api import create_app
from app.trigger.settings import TriggerSettings
from infra import contracts
from infra_tools.synth.stackfile import PROJECT_ROOT
from tests.infra.graph import Graph


def _default(settings: type[Any], field: str) -> object:
    return settings.model_fields[field].default


def test_the_apps_defaults_are_the_shared_names() -> None:
    """The app still repeats these as defaults; a pod started without its env must agree."""
    assert _default(Settings, "port") == contracts.HTTP_PORT
    assert _default(TriggerSettings, "port") == contracts.HTTP_PORT
    assert _default(TriggerSettings, "namespace") == contracts.TRAINING_NAMESPACE
    assert _default(TriggerSettings, "cronjob") == contracts.RETRAIN_CRONJOB
    assert _default(Settings, "dataset_prefix") == contracts.DATASET_PREFIX
    assert _default(TriggerSettings, "dataset_prefix") == contracts.DATASET_PREFIX
    assert contracts.DATASET_PREFIX.startswith(contracts.DATASETS_PREFIX)
    assert CAPTURED_FOLDER == contracts.HARVESTED_FOLDER


def test_the_trigger_serves_the_shared_routes() -> None:
    routes = {getattr(route, "path", None) for route in create_app("x" * 16, Mock()).routes}
    assert {contracts.RETRAIN_ALERTS_PATH, contracts.HEALTH_PATH} <= routes


def test_the_contracts_import_nothing_of_pulumi() -> None:
    """The app's image has no Pulumi; it must be able to import these names."""
    probe = "import sys, infra.contracts; print(sorted(m for m in sys.modules if 'pulumi' in m))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_workloads_are_declared_under_the_shared_names(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    namespaces = {m["metadata"]["name"] for m in graph.manifests("Namespace")}
    assert namespaces == {
        contracts.SERVING_NAMESPACE,
        contracts.TRAINING_NAMESPACE,
        contracts.MONITORING_NAMESPACE,
        contracts.TRACKING_NAMESPACE,
    }
    where = {
        (m["kind"], m["metadata"]["name"]): m["metadata"]["namespace"]
        for m in graph.manifests()
        if m["kind"] in ("Deployment", "CronJob", "ServiceAccount")
    }
    assert (
        where[("Deployment", contracts.model_server("iris-classifier"))]
        == contracts.SERVING_NAMESPACE
    )
    assert where[("ServiceAccount", contracts.SERVING_SERVICE_ACCOUNT)] == "serving"
    assert (
        where[("CronJob", contracts.retrain_cronjob("iris-classifier"))]
        == contracts.TRAINING_NAMESPACE
    )
    assert where[("ServiceAccount", contracts.TRAINING_SERVICE_ACCOUNT)] == "training"
    for model in ("iris-classifier", "wine-classifier"):
        assert where[("Deployment", contracts.model_server(model))] == "serving"
        for cronjob in (
            contracts.retrain_cronjob(model),
            contracts.harvest_cronjob(model),
            contracts.batch_score_cronjob(model),
        ):
            assert where[("CronJob", cronjob)] == contracts.TRAINING_NAMESPACE, cronjob
        trigger = contracts.retrain_trigger(model)
        assert where[("Deployment", trigger)] == contracts.TRAINING_NAMESPACE
    assert where[("ServiceAccount", contracts.RETRAIN_TRIGGER)] == contracts.TRAINING_NAMESPACE
    assert where[("Deployment", contracts.TRACKING_SERVER)] == contracts.TRACKING_NAMESPACE
    assert where[("ServiceAccount", contracts.TRACKING_SERVER)] == contracts.TRACKING_NAMESPACE
    service = graph.manifest("Service", contracts.TRACKING_SERVER)
    assert service["metadata"]["namespace"] == contracts.TRACKING_NAMESPACE
    assert [port["port"] for port in service["spec"]["ports"]] == [contracts.TRACKING_PORT]
