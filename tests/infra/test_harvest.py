"""The daily harvest CronJob: labelled captures become training rows, on a CPU node, once a day."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from app.trigger.settings import TriggerSettings
from infra import contracts
from infra.components.scheduling import POOL_LABEL, SYSTEM_POOL
from infra.config import ConfigError
from infra.config.workloads import TrainingConfig
from infra_tools.synth import synthesize
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with

CLUSTER_STACKS = ("dev", "prod")
TRAINING = "mlops-platform:app.training"
MODELS = ("iris-classifier", "wine-classifier")
"""What dev and prod list; each gets its own harvest."""


@pytest.fixture(params=CLUSTER_STACKS)
def stack(request: pytest.FixtureRequest, graphs: dict[str, Graph]) -> Graph:
    return graphs[request.param]


@pytest.fixture(params=MODELS)
def model(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _harvest(graph: Graph, model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    cronjob = graph.manifest("CronJob", contracts.harvest_cronjob(model))
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return cronjob, pod


def test_harvest_runs_daily_by_default_one_at_a_time(stack: Graph, model: str) -> None:
    cronjob, _ = _harvest(stack, model)
    assert cronjob["metadata"]["namespace"] == "training"
    assert cronjob["spec"]["schedule"] == TrainingConfig().harvest_schedule
    minute, hour, *every = cronjob["spec"]["schedule"].split()
    assert every == ["*", "*", "*"] and minute.isdigit() and hour.isdigit(), "not daily"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert (
        cronjob["spec"]["timeZone"]
        == stack.manifest("CronJob", contracts.retrain_cronjob(model))["spec"]["timeZone"]
    )


def test_harvest_runs_the_app_command_on_the_system_pool_without_a_gpu(
    stack: Graph, model: str
) -> None:
    _, pod = _harvest(stack, model)
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "app", "data", "harvest"]
    assert pod["nodeSelector"] == {POOL_LABEL: SYSTEM_POOL}
    assert not pod.get("tolerations"), "nothing lets it onto a GPU node"
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    assert set(limits) == set(requests) == {"cpu", "memory"}, "no GPU, no EFA"
    trainer = stack.manifest("CronJob", contracts.retrain_cronjob(model))["spec"]["jobTemplate"][
        "spec"
    ]["template"]
    assert container["image"] == trainer["spec"]["containers"][0]["image"], "the training image"


def test_harvest_uses_the_trainers_role_and_writes_where_its_models_training_reads(
    stack: Graph, model: str
) -> None:
    _, pod = _harvest(stack, model)
    trainer = stack.manifest("CronJob", contracts.retrain_cronjob(model))["spec"]["jobTemplate"][
        "spec"
    ]["template"]
    assert pod["serviceAccountName"] == trainer["spec"]["serviceAccountName"]
    assert pod["automountServiceAccountToken"] is False
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    trainer_env = {e["name"]: e.get("value") for e in trainer["spec"]["containers"][0]["env"]}
    for name in ("MLOPS_BUCKET", "MLOPS_AWS_REGION", "MLOPS_MODEL_NAME", "MLOPS_DATASET_PREFIX"):
        assert env[name] == trainer_env[name], name
    assert env["MLOPS_MODEL_NAME"] == model
    trigger = stack.manifest("Deployment", contracts.retrain_trigger(model))["spec"]["template"][
        "spec"
    ]
    trigger_env = {e["name"]: e.get("value") for e in trigger["containers"][0]["env"]}
    # The rows land where the trainers read and the trigger watches, so they start a run.
    assert env["MLOPS_DATASET_PREFIX"] == trigger_env["MLOPS_TRIGGER_DATASET_PREFIX"]
    # The stack files keep iris-classifier on the prefix its data always had.
    listed = {"iris-classifier": "datasets/iris/"}
    assert env["MLOPS_DATASET_PREFIX"] == listed.get(model, contracts.model_dataset_prefix(model))


def test_harvest_pods_get_no_ingress_and_only_dns_and_https_out(stack: Graph, model: str) -> None:
    policy = stack.manifest("NetworkPolicy", contracts.harvest_cronjob(model))
    selected = policy["spec"]["podSelector"]["matchLabels"]
    assert selected["app.kubernetes.io/name"] == "harvest"
    assert selected[contracts.MODEL_LABEL] == model
    assert policy["spec"]["ingress"] == []
    ports = {(p["port"], p["protocol"]) for r in policy["spec"]["egress"] for p in r["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (443, "TCP")}


def test_trigger_and_app_agree_on_the_default_dataset() -> None:
    """A stack listing no models trains on the app's default dataset; both defaults agree."""
    assert TriggerSettings.model_fields["dataset_prefix"].default == Settings().dataset_prefix


@pytest.mark.parametrize(
    ("value", "rule"),
    [("30 25 * * *", "hour '25' is outside 0-23"), ("daily", "has 1 fields, not 5")],
)
def test_bad_harvest_schedule_names_the_key_and_the_fix(
    tmp_path: Path, value: str, rule: str
) -> None:
    root = stack_root_with(tmp_path, "dev", {f"{TRAINING}.harvestSchedule": value})
    with pytest.raises(ConfigError) as raised:
        synthesize("dev", root)
    (problem,) = raised.value.problems
    assert f'{TRAINING}.harvestSchedule="{value}" is not cron syntax ({rule})' in problem
    assert '"minute hour day-of-month month day-of-week"' in problem, problem


def test_a_harvest_schedule_from_the_stack_file_reaches_the_cronjob(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {f"{TRAINING}.harvestSchedule": "15 4 * * 1-5"})
    graph = synthesize("dev", root).graph
    for model in MODELS:
        cronjob = graph.manifest("CronJob", contracts.harvest_cronjob(model))
        assert cronjob["spec"]["schedule"] == "15 4 * * 1-5"
