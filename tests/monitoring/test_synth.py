"""The synthesized dev and prod stacks carry the whole monitoring stack, secrets kept out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import Mock
from urllib.parse import urlsplit

import pytest
import yaml

from app.trigger.api import create_app
from infra.components.monitoring import DCGM_CHART_VERSION, STACK_CHART_VERSION
from infra.components.scheduling import GPU_NODE_SELECTOR, GPU_TAINT_KEY
from infra_tools.synth import synthesize
from infra_tools.type_tokens import EKS_ADDON, EKS_NODE_GROUP, HELM_RELEASE, K8S_STORAGE_CLASS
from tests.infra.graph import Graph
from tests.infra.program import declare
from tests.infra.stackfiles import stack_root_with


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> Graph:
    return request.getfixturevalue(request.param)


def _release(graph: Graph, chart: str) -> dict[str, Any]:
    return next(r for r in graph.of_type(HELM_RELEASE) if r["inputs"]["chart"] == chart)


def test_both_helm_releases_are_pinned(stack: Graph) -> None:
    assert _release(stack, "kube-prometheus-stack")["inputs"]["version"] == STACK_CHART_VERSION
    assert _release(stack, "dcgm-exporter")["inputs"]["version"] == DCGM_CHART_VERSION


def test_dcgm_exporter_runs_only_on_gpu_nodes_and_tolerates_their_taint(stack: Graph) -> None:
    values = _release(stack, "dcgm-exporter")["inputs"]["values"]
    assert values["nodeSelector"] == GPU_NODE_SELECTOR
    assert any(t["key"] == GPU_TAINT_KEY for t in values["tolerations"])


def test_monitors_rules_and_dashboards_are_declared(stack: Graph) -> None:
    for model in ("iris-classifier", "wine-classifier"):
        name = f"model-server-{model}"
        assert stack.manifest("ServiceMonitor", name)["spec"]["selector"]["matchLabels"]
    assert stack.manifests("PodMonitor")
    alerts = {
        rule["alert"]
        for m in stack.manifests("PrometheusRule")
        for group in m["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule  # the others are recording rules
    }
    assert {"ModelDataDrift", "ServingHighErrorRate", "GpuNodeIdle", "LiveAccuracyDrop"} <= alerts
    boards = [
        m
        for m in stack.manifests("ConfigMap")
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert len(boards) >= 4, f"stack {stack.stack}: dashboards {len(boards)}"


def test_no_secret_reaches_the_helm_values(stack: Graph) -> None:
    text = json.dumps(_release(stack, "kube-prometheus-stack")["inputs"]["values"])
    assert "synth-placeholder-secret" not in text
    values = _release(stack, "kube-prometheus-stack")["inputs"]["values"]
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert values["alertmanager"]["alertmanagerSpec"]["useExistingSecret"] is True


def test_grafana_has_no_ingress_by_default(stack: Graph) -> None:
    values = _release(stack, "kube-prometheus-stack")["inputs"]["values"]
    assert values["grafana"]["ingress"]["enabled"] is False
    assert values["grafana"]["service"]["type"] == "ClusterIP"


def test_published_grafana_is_served_by_the_controller_the_cluster_runs(tmp_path: Path) -> None:
    """No Ingress (no AWS Load Balancer Controller is installed to serve one): a TLS Network
    Load Balancer from the same service controller, with the same annotations, that serves the
    model server's load balancer."""
    grafana = {
        "loadBalancer": True,
        "host": "grafana.ml.example.com",
        "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    }
    root = stack_root_with(tmp_path, "prod", {"mlops-platform:monitoring.grafana": grafana})
    graph = synthesize("prod", root).graph
    values = _release(graph, "kube-prometheus-stack")["inputs"]["values"]["grafana"]
    assert values["ingress"]["enabled"] is False
    service = values["service"]
    assert service["type"] == "LoadBalancer" and service["port"] == 443
    serving = graph.manifest("Service", "model-server-iris-classifier-nlb")["metadata"][
        "annotations"
    ]
    lb = "service.beta.kubernetes.io/aws-load-balancer"
    for key in (f"{lb}-type", f"{lb}-internal"):
        assert service["annotations"][key] == serving[key], key
    assert service["annotations"][f"{lb}-ssl-cert"] == grafana["certificateArn"]
    assert service["annotations"][f"{lb}-ssl-ports"] == service["portName"]
    # Internal means the VPC only: no source ranges would open the node port to the world.
    assert service["loadBalancerSourceRanges"] == ["10.30.0.0/16"]
    assert values["grafana.ini"]["server"]["root_url"] == "https://grafana.ml.example.com"


def test_prod_keeps_more_history_on_redundant_prometheus(dev: Graph, prod: Graph) -> None:
    def spec(graph: Graph) -> dict[str, Any]:
        return _release(graph, "kube-prometheus-stack")["inputs"]["values"]["prometheus"][
            "prometheusSpec"
        ]

    assert spec(prod)["replicas"] >= 2
    assert int(str(spec(prod)["retention"]).rstrip("d")) > int(
        str(spec(dev)["retention"]).rstrip("d")
    )


def test_local_stack_has_no_monitoring(local: Graph) -> None:
    assert not local.of_type(HELM_RELEASE)


def test_model_server_service_monitor_matches_the_serving_service_and_port(stack: Graph) -> None:
    monitor = stack.manifest("ServiceMonitor", "model-server-iris-classifier")["spec"]
    service = stack.manifest("Service", "model-server-iris-classifier")
    assert service["metadata"]["namespace"] in monitor["namespaceSelector"]["matchNames"]
    wanted = monitor["selector"]["matchLabels"].items()
    assert wanted <= service["metadata"]["labels"].items(), "selector misses the Service labels"
    port_names = {port["name"] for port in service["spec"]["ports"]}
    assert {e["port"] for e in monitor["endpoints"]} <= port_names


def test_retrain_webhook_url_matches_the_trigger_service_and_route(stack: Graph) -> None:
    """The URL Alertmanager really gets (inside its secret config) reaches the trigger."""
    config = declare(stack.stack).one(
        "kubernetes:core/v1:Secret", f"mlops-{stack.stack}-alertmanager-config"
    )
    routing = yaml.safe_load(config.inputs["stringData"]["alertmanager.yaml"])
    trigger = "retrain-trigger-iris-classifier"
    (retrain,) = [r for r in routing["receivers"] if r["name"] == "retrain-iris-classifier"]
    url = urlsplit(retrain["webhook_configs"][0]["url"])
    assert url.scheme == "http"
    service = stack.manifest("Service", trigger)
    assert url.hostname == f"{trigger}.{service['metadata']['namespace']}.svc"
    assert url.port in {port["port"] for port in service["spec"]["ports"]}
    routes = {getattr(route, "path", None) for route in create_app("x" * 16, Mock()).routes}
    assert url.path in routes, f"the trigger app serves no {url.path}"


def test_training_pod_monitor_finds_the_trainer_metrics_port_and_may_reach_it(
    stack: Graph,
) -> None:
    monitor = stack.manifest("PodMonitor", "training-jobs")["spec"]
    cronjob = stack.manifest("CronJob", "retrain-iris-classifier")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    assert cronjob["metadata"]["namespace"] in monitor["namespaceSelector"]["matchNames"]
    assert cronjob["spec"]["jobTemplate"]["spec"]["completionMode"] == "Indexed"

    def labels_of_rank(rank: int) -> dict[str, str]:
        # What the Job controller puts on the pod of index `rank` (Kubernetes 1.28 and later).
        return {**pod["metadata"]["labels"], "batch.kubernetes.io/job-completion-index": str(rank)}

    # Only rank 0 serves /metrics: the other ranks would be targets that are always down.
    selector = monitor["selector"]["matchLabels"].items()
    assert selector <= labels_of_rank(0).items()
    assert not selector <= labels_of_rank(1).items(), "every rank is scraped, rank 0 alone serves"
    (container,) = pod["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    (endpoint,) = monitor["podMetricsEndpoints"]
    assert endpoint["port"] in ports, "the trainer container has no port the PodMonitor scrapes"
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["MLOPS_METRICS_PORT"] == str(ports[endpoint["port"]]), "app listens elsewhere"
    policy = stack.manifest("NetworkPolicy", "trainer")["spec"]
    admitted = [
        rule
        for rule in policy["ingress"]
        if any(
            peer.get("namespaceSelector", {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name")
            == "monitoring"
            for peer in rule.get("from", [])
        )
    ]
    assert admitted, "the trainer NetworkPolicy keeps Prometheus out"
    assert {p["port"] for rule in admitted for p in rule["ports"]} == {ports[endpoint["port"]]}


def test_monitoring_waits_for_nodes_storage_and_dns(stack: Graph) -> None:
    monitoring = stack.one("mlops-platform:monitoring:Monitoring")
    # A component's dependency on components reaches the engine as their resources.
    depended = {stack.by_urn(urn)["type"] for urn in monitoring["dependencies"]}
    assert {
        EKS_NODE_GROUP,
        EKS_ADDON,
        K8S_STORAGE_CLASS,
    } <= depended
