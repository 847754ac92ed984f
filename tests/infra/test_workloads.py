"""The workloads on the cluster, as synthesized for dev and prod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import Settings
from app.trigger.settings import TriggerSettings
from infra import contracts
from infra.components.scheduling import GPU_TAINT_KEY, POOL_LABEL
from infra.config import ConfigError
from infra_tools.synth import synthesize
from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import EC2_VPC
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/"
CLUSTER_STACKS = ("dev", "prod")


@pytest.fixture(params=CLUSTER_STACKS)
def stack(request: pytest.FixtureRequest, graphs: dict[str, Graph]) -> Graph:
    return graphs[request.param]


def app_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    section: dict[str, Any] = document["config"]["mlops-platform:app"]
    return section


def shadow_models(stack: Graph) -> list[dict[str, Any]]:
    """The stack file's models that roll out in shadow (the default mode)."""
    return [
        m
        for m in models_config(stack.stack)
        if m.get("rollout", {}).get("mode", "shadow") == "shadow"
    ]


def models_config(stack: str) -> list[dict[str, Any]]:
    """The stack file's `app.models` entries."""
    models: list[dict[str, Any]] = app_config(stack)["models"]
    return models


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    if manifest["kind"] == "CronJob":
        spec: dict[str, Any] = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    spec = manifest["spec"]["template"]["spec"]
    return spec


def workload_pods(graph: Graph) -> dict[str, dict[str, Any]]:
    return {
        f"{m['kind']}/{m['metadata']['name']}": pod_spec(m)
        for m in graph.manifests("Deployment") + graph.manifests("CronJob")
    }


def test_serving_and_training_namespaces_enforce_restricted(stack: Graph) -> None:
    levels = {
        m["metadata"]["name"]: m["metadata"]["labels"].get("pod-security.kubernetes.io/enforce")
        for m in stack.manifests("Namespace")
    }
    assert levels == {
        "serving": "restricted",
        "training": "restricted",
        "tracking": "restricted",
        "monitoring": "privileged",
    }


def test_every_pod_is_hardened(stack: Graph) -> None:
    for name, spec in workload_pods(stack).items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts, f"{name}: read-only root needs a writable /tmp"
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert {"cpu", "memory"} <= set(limits) & set(requests), name


def test_only_the_trigger_gets_a_kubernetes_api_token(stack: Graph) -> None:
    tokens = {
        name: spec["automountServiceAccountToken"] for name, spec in workload_pods(stack).items()
    }
    expected = {"Deployment/mlflow": False}
    for model in ("iris-classifier", "wine-classifier"):
        expected |= {
            f"Deployment/{contracts.model_server(model)}": False,
            f"CronJob/{contracts.retrain_cronjob(model)}": False,
            f"CronJob/{contracts.harvest_cronjob(model)}": False,
            f"CronJob/{contracts.batch_score_cronjob(model)}": False,
            f"Deployment/{contracts.retrain_trigger(model)}": True,
        }
    rollouts = {f"CronJob/{contracts.rollout_cronjob(m['name'])}" for m in shadow_models(stack)}
    assert tokens == expected | dict.fromkeys(rollouts, False)


def test_model_server_image_and_probes(stack: Graph) -> None:
    spec = pod_spec(stack.manifest("Deployment", "model-server-iris-classifier"))
    (container,) = spec["containers"]
    assert (
        container["image"] == f"{ECR}mlops-{stack.stack}/app:{app_config(stack.stack)['imageTag']}"
    )
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert spec["nodeSelector"] == {POOL_LABEL: "system"}
    assert spec["serviceAccountName"] == "model-server"


def test_deployment_env_names_are_exactly_app_settings(stack: Graph) -> None:
    (container,) = pod_spec(stack.manifest("Deployment", "model-server-iris-classifier"))[
        "containers"
    ]
    names = {env["name"] for env in container["env"]}
    fields = {f"MLOPS_{field.upper()}" for field in Settings.model_fields}
    assert names <= fields, f"env vars the app never reads: {sorted(names - fields)}"
    # The app reads them: each literal value arrives in the matching Settings field.
    values = {env["name"]: env["value"] for env in container["env"] if "value" in env}
    settings = Settings.model_validate(
        {name.removeprefix("MLOPS_").lower(): value for name, value in values.items()}
    )
    assert settings.model_alias == models_config(stack.stack)[0].get("alias", "production")
    assert str(settings.api_keys_file).startswith("/var/run/secrets/")


def test_server_learns_its_memory_limit_from_its_own_container(stack: Graph) -> None:
    (container,) = pod_spec(stack.manifest("Deployment", "model-server-iris-classifier"))[
        "containers"
    ]
    (env,) = [env for env in container["env"] if env["name"] == "MLOPS_MEMORY_LIMIT_MIB"]
    assert env["valueFrom"]["resourceFieldRef"] == {
        "containerName": container["name"],
        "resource": "limits.memory",
        "divisor": "1Mi",
    }, "pending predictions are bounded by this limit"


def test_trainer_env_names_are_app_settings(stack: Graph) -> None:
    (container,) = pod_spec(stack.manifest("CronJob", "retrain-iris-classifier"))["containers"]
    app_names = {env["name"] for env in container["env"] if env["name"].startswith("MLOPS_")}
    fields = {f"MLOPS_{field.upper()}" for field in Settings.model_fields}
    assert app_names <= fields and "MLOPS_BUCKET" in app_names, sorted(app_names - fields)


def test_trigger_env_names_are_trigger_settings(stack: Graph) -> None:
    (container,) = pod_spec(stack.manifest("Deployment", "retrain-trigger-iris-classifier"))[
        "containers"
    ]
    names = {env["name"] for env in container["env"]}
    fields = {f"MLOPS_TRIGGER_{field.upper()}" for field in TriggerSettings.model_fields}
    assert names <= fields and "MLOPS_TRIGGER_TOKEN_FILE" in names, sorted(names - fields)


def test_the_trigger_submits_the_pipeline_where_argo_runs_it(stack: Graph) -> None:
    (container,) = pod_spec(stack.manifest("Deployment", "retrain-trigger-iris-classifier"))[
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    # dev and prod run the pipeline on Argo Workflows: drift and new data submit it there.
    assert env["MLOPS_TRIGGER_WORKFLOW_TEMPLATE"] == contracts.retrain_pipeline("iris-classifier")
    stack.manifest("WorkflowTemplate", env["MLOPS_TRIGGER_WORKFLOW_TEMPLATE"])


def test_api_keys_come_from_a_secret_never_plain_env(stack: Graph) -> None:
    secret = stack.manifest("Secret", "model-server-api-keys")
    assert secret["stringData"] == "[secret]", "API keys must stay a Pulumi secret"
    spec = pod_spec(stack.manifest("Deployment", "model-server-iris-classifier"))
    secret_sources = [
        source["secret"]["name"]
        for volume in spec["volumes"]
        for source in volume.get("projected", {}).get("sources", [])
    ]
    assert "model-server-api-keys" in secret_sources
    (container,) = spec["containers"]
    assert all(env["name"] != "MLOPS_API_KEYS" for env in container["env"])


def test_training_runs_on_the_gpu_pool_with_gpu_limits(stack: Graph) -> None:
    cronjob = stack.manifest("CronJob", "retrain-iris-classifier")
    config = app_config(stack.stack)["training"]
    job = cronjob["spec"]["jobTemplate"]["spec"]
    spec = job["template"]["spec"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["schedule"] == config["schedule"]
    assert spec["nodeSelector"] == {POOL_LABEL: "gpu"}
    assert [t["key"] for t in spec["tolerations"]] == [GPU_TAINT_KEY]
    assert spec["serviceAccountName"] == "trainer"
    (container,) = spec["containers"]
    gpus = str(config["gpusPerNode"])
    assert container["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert f"--nproc-per-node={gpus}" in container["args"]
    # Distributed: one Indexed Job pod per node, all finding rank 0 through the headless Service.
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == config["nodes"]
    assert f"--nnodes={config['nodes']}" in container["args"]
    workers = stack.manifest("Service", spec["subdomain"])
    assert workers["spec"]["clusterIP"] == "None"


def test_service_accounts_carry_their_iam_roles(stack: Graph) -> None:
    for name, role in (("model-server", "serving"), ("trainer", "training")):
        account = stack.manifest("ServiceAccount", name)
        arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert arn == stack.outputs[f"{role}RoleArn"], name


def test_trigger_may_only_create_and_list_jobs_in_training(stack: Graph) -> None:
    role = stack.manifest("Role", "retrain-trigger")
    assert role["metadata"]["namespace"] == "training"
    rules = {(tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in role["rules"]}
    assert rules == {(("jobs",), ("create", "list")), (("cronjobs",), ("get",))}
    assert not stack.manifests("ClusterRole") and not stack.manifests("ClusterRoleBinding")
    binding = stack.manifest("RoleBinding", "retrain-trigger")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "retrain-trigger", "namespace": "training"}
    ]


def test_network_policies_admit_only_clients_and_prometheus(stack: Graph) -> None:
    policy = stack.manifest("NetworkPolicy", "model-server-iris-classifier")
    sources = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    namespaces = [
        p["namespaceSelector"]["matchLabels"] for p in sources if "namespaceSelector" in p
    ]
    cidrs = [p["ipBlock"]["cidr"] for p in sources if "ipBlock" in p]
    assert namespaces == [{"kubernetes.io/metadata.name": "monitoring"}]
    assert "0.0.0.0/0" not in cidrs, "internal exposure must not admit the internet"
    trigger = stack.manifest("NetworkPolicy", "retrain-trigger-iris-classifier")
    (rule,) = trigger["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


def test_load_balancer_is_internal_by_default(prod: Graph) -> None:
    # Prod sets only the certificate: internal is the default mode.
    assert set(app_config("prod")["exposure"]) == {"certificateArn"}
    service = prod.manifest("Service", "model-server-iris-classifier-nlb")
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert prod.manifest("Service", "model-server-iris-classifier")["spec"]["type"] == "ClusterIP"


def test_cluster_ip_mode_declares_no_load_balancer(dev: Graph) -> None:
    load_balancers = [
        m["metadata"]["name"]
        for m in dev.manifests("Service")
        if m["spec"].get("type") == "LoadBalancer"
    ]
    assert load_balancers == [], f"dev (exposure clusterIp) declares {load_balancers}"
    assert dev.manifest("Service", "model-server-iris-classifier")["spec"]["type"] == "ClusterIP"
    policy = dev.manifest("NetworkPolicy", "model-server-iris-classifier")
    cidrs = [
        p["ipBlock"]["cidr"] for r in policy["spec"]["ingress"] for p in r["from"] if "ipBlock" in p
    ]
    assert cidrs == [dev.one(EC2_VPC)["inputs"]["cidrBlock"]], "clients: the VPC only"


def test_cluster_ip_mode_refuses_load_balancer_settings(tmp_path: Path) -> None:
    root = stack_root_with(
        tmp_path,
        "dev",
        {"mlops-platform:app.exposure": {"mode": "clusterIp", "sourceCidrs": ["198.51.100.0/24"]}},
    )
    with pytest.raises(ConfigError) as caught:
        synthesize("dev", root=root)
    assert caught.value.problems == [
        "Pulumi.dev.yaml: mlops-platform:app.exposure: mode=clusterIp has no load balancer, so "
        "certificateArn and sourceCidrs would be ignored; remove them or use mode internal or "
        "public"
    ]


def test_each_models_hpa_bounds_follow_the_stack_file(stack: Graph) -> None:
    for config in models_config(stack.stack):
        name = contracts.model_server(config["name"])
        hpa = stack.manifest("HorizontalPodAutoscaler", name)["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (
            config["minReplicas"],
            config["maxReplicas"],
        ), name
        assert hpa["scaleTargetRef"]["name"] == name


def test_prod_spreads_serving_across_zones_and_has_a_pdb(prod: Graph, dev: Graph) -> None:
    spread = pod_spec(prod.manifest("Deployment", "model-server-iris-classifier"))[
        "topologySpreadConstraints"
    ]
    zone = next(c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert (
        prod.manifest("PodDisruptionBudget", "model-server-iris-classifier")["spec"][
            "maxUnavailable"
        ]
        == 1
    )
    # Dev turns both off in its stack file (highAvailability: false).
    assert "topologySpreadConstraints" not in pod_spec(
        dev.manifest("Deployment", "model-server-iris-classifier")
    )
    assert not dev.manifests("PodDisruptionBudget")


def test_dev_and_prod_declare_the_same_workload_objects_apart_from_pdb_nlb_and_rollout(
    dev: Graph, prod: Graph
) -> None:
    def objects(graph: Graph) -> set[tuple[str, str]]:
        return {
            (m["kind"], m["metadata"].get("name", ""))
            for m in graph.manifests()
            if m["metadata"].get("namespace") in ("serving", "training") or m["kind"] == "Namespace"
        }

    # Dev has no PDB (highAvailability: false) and no load balancer (exposure clusterIp);
    # its iris-classifier rolls out directly, so it has no rollout CronJob.
    models = ("iris-classifier", "wine-classifier")
    assert objects(prod) - objects(dev) == {
        *(("PodDisruptionBudget", contracts.model_server(m)) for m in models),
        *(("Service", contracts.model_load_balancer(m)) for m in models),
        ("CronJob", contracts.rollout_cronjob("iris-classifier")),
        ("NetworkPolicy", contracts.rollout_cronjob("iris-classifier")),
    }
    assert objects(dev) - objects(prod) == set()


def test_local_stack_has_no_workloads(local: Graph) -> None:
    assert local.manifests() == []
