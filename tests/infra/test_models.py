"""Several models per stack: each listed model gets its own workloads, env, monitors and jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import contracts
from infra.components import alerting
from infra.components.alerting import AlertReceivers
from infra.config import ConfigError
from infra.config.models import longest_model_name
from infra_tools.guardrails.manifests import validate_manifest
from infra_tools.synth import synthesize
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with
from tests.infra.test_workloads import models_config, pod_spec

CLUSTER_STACKS = ("dev", "prod")
MODELS = "mlops-platform:app.models"


@pytest.fixture(params=CLUSTER_STACKS)
def stack(request: pytest.FixtureRequest, graphs: dict[str, Graph]) -> Graph:
    return graphs[request.param]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def _problems(tmp_path: Path, models: object) -> list[str]:
    root = stack_root_with(tmp_path, "dev", {MODELS: models})
    with pytest.raises(ConfigError) as raised:
        synthesize("dev", root)
    return raised.value.problems


def test_each_model_is_served_by_its_own_deployment_with_its_own_env(stack: Graph) -> None:
    listed = models_config(stack.stack)
    assert [m["name"] for m in listed] == ["iris-classifier", "wine-classifier"]
    deployments = {m["metadata"]["name"] for m in stack.manifests("Deployment")}
    for config in listed:
        model, name = config["name"], contracts.model_server(config["name"])
        assert name in deployments
        deployment = stack.manifest("Deployment", name)
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector[contracts.MODEL_LABEL] == model
        assert deployment["spec"]["template"]["metadata"]["labels"][contracts.MODEL_LABEL] == model
        (container,) = pod_spec(deployment)["containers"]
        env = _env(container)
        assert env["MLOPS_MODEL_NAME"] == model
        assert env["MLOPS_MODEL_ALIAS"] == config.get("alias", "production")
        assert env["MLOPS_DATASET_PREFIX"] == config.get("datasetPrefix", f"datasets/{model}/")
        # The one image: only the settings tell two models' servers apart.
        first = stack.manifest("Deployment", contracts.model_server(listed[0]["name"]))
        assert container["image"] == pod_spec(first)["containers"][0]["image"]
        service = stack.manifest("Service", name)
        assert service["spec"]["selector"] == selector, "a Service reaches its model's pods only"
        hpa = stack.manifest("HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name


def test_each_models_policy_selects_its_pods_with_the_same_rules(stack: Graph) -> None:
    policies = [
        stack.manifest("NetworkPolicy", contracts.model_server(m["name"]))
        for m in models_config(stack.stack)
    ]
    for policy, config in zip(policies, models_config(stack.stack), strict=True):
        selected = policy["spec"]["podSelector"]["matchLabels"]
        assert selected[contracts.MODEL_LABEL] == config["name"]
    assert policies[0]["spec"]["ingress"] == policies[1]["spec"]["ingress"]
    assert policies[0]["spec"]["egress"] == policies[1]["spec"]["egress"]


def test_every_series_scraped_from_a_model_carries_its_model_label(stack: Graph) -> None:
    for config in models_config(stack.stack):
        model = config["name"]
        monitor = stack.manifest("ServiceMonitor", contracts.model_server(model))
        assert validate_manifest(monitor) == []
        assert monitor["spec"]["selector"]["matchLabels"][contracts.MODEL_LABEL] == model
        (endpoint,) = monitor["spec"]["endpoints"]
        (relabel,) = endpoint["relabelings"]
        # The pod label `mlops-platform/model`, as Prometheus' service discovery names it.
        assert relabel["sourceLabels"] == ["__meta_kubernetes_pod_label_mlops_platform_model"]
        assert relabel["targetLabel"] == "model"
        service = stack.manifest("Service", contracts.model_server(model))
        assert set(monitor["spec"]["selector"]["matchLabels"].items()) <= set(
            service["metadata"]["labels"].items()
        ), "the monitor selects the model's Service"
        # `job` stays model-server for every model: the label rules already use.
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "model-server"


def test_each_models_training_pods_get_that_models_settings(stack: Graph) -> None:
    for config in models_config(stack.stack):
        model = config["name"]
        expected = {
            "MLOPS_MODEL_NAME": model,
            "MLOPS_MODEL_ALIAS": config.get("alias", "production"),
            "MLOPS_DATASET_PREFIX": config.get("datasetPrefix", f"datasets/{model}/"),
            "MLOPS_MODEL_FAMILY": config["family"],
            "MLOPS_ROLLOUT_MODE": config.get("rollout", {}).get("mode", "shadow"),
            # `data upload` in its pods seeds its own example data, not iris for every model.
            "MLOPS_PACKAGED_DATASET": config["packagedDataset"],
        }
        (trainer,) = pod_spec(stack.manifest("CronJob", contracts.retrain_cronjob(model)))[
            "containers"
        ]
        template = stack.manifest("WorkflowTemplate", contracts.retrain_pipeline(model))["spec"]
        containers = [trainer] + [t["container"] for t in template["templates"] if "container" in t]
        for container in containers:
            env = _env(container)
            assert {key: env.get(key) for key in expected} == expected, model
        assert template["podMetadata"]["labels"][contracts.MODEL_LABEL] == model
        cron = stack.manifest("CronWorkflow", contracts.retrain_schedule(model))
        assert cron["spec"]["workflowSpec"]["workflowTemplateRef"]["name"] == (
            contracts.retrain_pipeline(model)
        )


def test_the_rollout_cronjob_exists_only_for_shadow_models(stack: Graph) -> None:
    cronjobs = {m["metadata"]["name"] for m in stack.manifests("CronJob")}
    for config in models_config(stack.stack):
        rollout = config.get("rollout", {})
        shadow = rollout.get("mode", "shadow") == "shadow"
        assert (contracts.rollout_cronjob(config["name"]) in cronjobs) is shadow, config["name"]
    # dev's iris-classifier promotes directly; prod keeps the default (shadow) for both.
    expected = {"dev": {"wine-classifier"}, "prod": {"iris-classifier", "wine-classifier"}}
    rollouts = {name.removeprefix("rollout-") for name in cronjobs if name.startswith("rollout-")}
    assert rollouts == expected[stack.stack]


def test_the_rollout_decides_every_five_minutes_with_the_models_thresholds(dev: Graph) -> None:
    cronjob = dev.manifest("CronJob", contracts.rollout_cronjob("wine-classifier"))
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert not cronjob["spec"].get("suspend")
    pod = pod_spec(cronjob)
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "app", "models", "rollout"]
    env = _env(container)
    assert env["MLOPS_MODEL_NAME"] == "wine-classifier"
    assert env["MLOPS_PROMETHEUS_URL"] == (
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    )
    # Pulumi.dev.yaml: holdMinutes 10, minAgreement 0.8, minComparisons 50.
    assert env["MLOPS_ROLLOUT_HOLD_SECONDS"] == "600"
    assert env["MLOPS_ROLLOUT_MIN_AGREEMENT"] == "0.8"
    assert env["MLOPS_ROLLOUT_MIN_COMPARISONS"] == "50"
    # It moves models/<name>/aliases/: the trainer's role may write models/.
    assert pod["serviceAccountName"] == contracts.TRAINING_SERVICE_ACCOUNT


def test_the_rollout_may_reach_prometheus_and_s3_and_nothing_gets_in(stack: Graph) -> None:
    policy = stack.manifest("NetworkPolicy", contracts.rollout_cronjob("wine-classifier"))
    assert policy["spec"]["podSelector"]["matchLabels"][contracts.MODEL_LABEL] == (
        "wine-classifier"
    )
    assert policy["spec"]["ingress"] == []
    egress = policy["spec"]["egress"]
    monitoring = {"kubernetes.io/metadata.name": contracts.MONITORING_NAMESPACE}
    assert any(
        {"port": 9090, "protocol": "TCP"} in rule.get("ports", [])
        and any(p["namespaceSelector"]["matchLabels"] == monitoring for p in rule.get("to", []))
        for rule in egress
    ), egress
    assert any(
        {"port": 443, "protocol": "TCP"} in rule.get("ports", []) and "to" not in rule
        for rule in egress
    ), "S3 has no fixed addresses: HTTPS anywhere"


def test_batch_scoring_is_a_suspended_template_of_the_models_score_job(stack: Graph) -> None:
    for config in models_config(stack.stack):
        model = config["name"]
        cronjob = stack.manifest("CronJob", contracts.batch_score_cronjob(model))
        assert cronjob["spec"]["suspend"] is True
        pod = pod_spec(cronjob)
        (container,) = pod["containers"]
        assert container["command"] == [
            *("python", "-m", "app", "score", "--input", "$(MLOPS_SCORE_INPUT)")
        ]
        env = _env(container)
        # Outside datasets/: a file to score is never trained on nor starts a retraining.
        assert env["MLOPS_SCORE_INPUT"] == f"scoring/{model}/to-score.csv"
        assert env["MLOPS_MODEL_NAME"] == model
        assert pod["serviceAccountName"] == contracts.TRAINING_SERVICE_ACCOUNT
        assert "MLOPS_TRACKING_URI" not in env, "--alias reads the bucket alone"


def test_the_drift_of_a_model_retrains_that_model_only() -> None:
    urls = {"iris-classifier": "http://a/v1/alerts", "wine-classifier": "http://b/v1/alerts"}
    receivers = AlertReceivers[str](webhook_url=None, slack=None, email=None)
    config = alerting.alertmanager_config(receivers, urls, "t" * 32)
    routes = [r for r in config["route"]["routes"] if r["receiver"].startswith("retrain")]
    assert [(r["receiver"], r["matchers"]) for r in routes] == [
        ("retrain-iris-classifier", ['action="retrain"', 'model="iris-classifier"']),
        ("retrain-wine-classifier", ['action="retrain"', 'model="wine-classifier"']),
    ]
    by_name = {r["name"]: r for r in config["receivers"]}
    for model, url in urls.items():
        (webhook,) = by_name[f"retrain-{model}"]["webhook_configs"]
        assert webhook["url"] == url


def test_a_stack_listing_no_models_serves_iris_classifier_on_the_default_dataset(
    tmp_path: Path,
) -> None:
    graph = synthesize("dev", stack_root_with(tmp_path, "dev", {MODELS: None})).graph
    deployment = graph.manifest("Deployment", contracts.model_server("iris-classifier"))
    env = _env(pod_spec(deployment)["containers"][0])
    assert env["MLOPS_DATASET_PREFIX"] == contracts.DATASET_PREFIX
    assert len(graph.manifests("Deployment")) == 3, "server, trigger, tracking"


def test_a_duplicate_model_names_both_entries_and_the_fix(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, [{"name": "iris-classifier"}, {"name": "iris-classifier"}])
    assert problem.startswith(f"Pulumi.dev.yaml: {MODELS}: lists model 'iris-classifier' twice")
    assert "(entries 1 and 2)" in problem and "give each entry a different name" in problem


def test_a_bad_model_name_names_the_entry_the_rule_and_the_fix(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, [{"name": "Wine_Classifier"}])
    assert problem.startswith(f'Pulumi.dev.yaml: {MODELS}.0.name="Wine_Classifier" is refused')
    assert "use a value matching ^[a-z0-9][a-z0-9-]{0,62}$" in problem


def test_an_empty_model_list_is_refused_with_the_fix(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, [])
    assert problem == (
        f"Pulumi.dev.yaml: {MODELS}: lists no model; list at least one, e.g. "
        "[{name: iris-classifier}], or remove app.models to serve iris-classifier alone"
    )


def test_a_name_too_long_for_a_derived_kubernetes_name_names_the_object_and_limit(
    tmp_path: Path,
) -> None:
    longest = longest_model_name()
    name = "m" * (longest + 1)
    (problem,) = _problems(tmp_path, [{"name": name}])
    assert problem.startswith(f'Pulumi.dev.yaml: {MODELS}.0.name="{name}" is {longest + 1}')
    assert f"CronWorkflow name 'retrain-schedule-{name}'" in problem, problem
    assert f"over its limit of 52; use a model name of at most {longest} characters" in problem
    # The longest name allowed fits every derived name.
    synthesize("dev", stack_root_with(tmp_path, "dev", {MODELS: [{"name": "m" * longest}]}))


def test_one_model_keys_left_on_app_say_where_they_moved(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {"mlops-platform:app.minReplicas": 2})
    with pytest.raises(ConfigError) as raised:
        synthesize("dev", root)
    (problem,) = raised.value.problems
    assert "minReplicas now belong to each model (minReplicas -> models[].minReplicas)" in problem


def test_a_shadow_rollout_without_monitoring_is_refused(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {"mlops-platform:monitoring.enabled": False})
    with pytest.raises(ConfigError) as raised:
        synthesize("dev", root)
    (problem,) = raised.value.problems
    assert "app.models wine-classifier roll out in shadow" in problem
    assert "set rollout.mode: direct on them or enable monitoring" in problem


def test_tree_models_train_on_one_cpu_pod_and_mlps_under_torchrun_on_gpus(stack: Graph) -> None:
    from app.training.candidates import GRADIENT_BOOSTING_GRID
    from infra.components.workloads.models import TREE_CANDIDATES

    for config in models_config(stack.stack):
        model, trees = config["name"], config["family"] == "gradient_boosting"
        job = stack.manifest("CronJob", contracts.retrain_cronjob(model))["spec"]["jobTemplate"]
        pod = job["spec"]["template"]["spec"]
        (trainer,) = pod["containers"]
        limits = trainer["resources"]["limits"]
        if trees:
            # torchrun would start one process per GPU, which the family refuses.
            assert [trainer["command"], trainer["args"]] == [["python"], ["-m", "app", "retrain"]]
            assert job["spec"]["completions"] == 1
            assert "nvidia.com/gpu" not in limits and "nodeSelector" not in pod
        else:
            assert trainer["command"] == ["torchrun"]
            assert "nvidia.com/gpu" in limits and pod["nodeSelector"]
        template = stack.manifest("WorkflowTemplate", contracts.retrain_pipeline(model))["spec"]
        steps = {t["name"]: t for t in template["templates"] if "container" in t}
        candidate = steps["candidate"]
        assert ("nvidia.com/gpu" in candidate["container"]["resources"]["limits"]) is not trees
        assert ("nodeSelector" in candidate) is not trees
        assert (candidate["container"]["command"][0] == "torchrun") is False or not trees
        defaults = {p["name"]: p["value"] for p in template["arguments"]["parameters"]}
        if trees:
            # The family's own grid, the app's: leaves:shrinkage, not the MLP's units:rate.
            expected = [f"{c.hidden}:{c.learning_rate:g}" for c in GRADIENT_BOOSTING_GRID]
            assert json.loads(defaults["candidates"]) == list(TREE_CANDIDATES) == expected
