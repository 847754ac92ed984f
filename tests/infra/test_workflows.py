"""Argo Workflows and the retrain-pipeline template, as synthesized for dev and prod."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.trigger.workflows import TEMPLATE_LABEL, workflow_from_template
from infra import contracts
from infra.components import scheduling
from infra_tools.guardrails.argo import validate_argo
from infra_tools.guardrails.manifests import validate_manifest
from infra_tools.type_tokens import HELM_RELEASE
from tests.infra.graph import Graph

FIRST = "iris-classifier"
"""The first model of dev and prod; every model's template is built the same way."""

STACKS = ("dev", "prod")
TEMPLATE_TOKEN = "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"
# torchrun's launcher variables: the CronJob's pods need them, a pipeline step does not.
LAUNCHER_ENV = {"NODE_RANK", "JOB_NAME", "WORKERS_SERVICE"}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, graphs: dict[str, Graph]) -> Graph:
    return graphs[request.param]


def template(graph: Graph) -> dict[str, Any]:
    return graph.manifest("WorkflowTemplate", contracts.retrain_pipeline(FIRST))


def step(graph: Graph, name: str) -> dict[str, Any]:
    (found,) = [t for t in template(graph)["spec"]["templates"] if t["name"] == name]
    return found


def trainer_pod(graph: Graph) -> dict[str, Any]:
    cronjob = graph.manifest("CronJob", contracts.retrain_cronjob(FIRST))
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def controller_values(graph: Graph) -> dict[str, Any]:
    (release,) = [
        r for r in graph.of_type(HELM_RELEASE) if r["inputs"]["chart"] == "argo-workflows"
    ]
    values: dict[str, Any] = release["inputs"]["values"]
    return values


def test_only_workflows_from_a_template_run(stack: Graph) -> None:
    # Creating a Workflow (the trigger may) must not mean running any pod spec with the
    # trainer's role: the controller runs only those that reference a WorkflowTemplate.
    restrictions = controller_values(stack)["controller"]["workflowRestrictions"]
    assert restrictions == {"templateReferencing": "Strict"}


def test_the_template_validates_against_argos_schema(stack: Graph) -> None:
    assert validate_manifest(template(stack)) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda s: s.update(parallelizm=s.pop("parallelism")), "spec.parallelizm: is not a field"),
        (
            lambda s: s.update(parallelism="two"),
            "spec.parallelism: Input should be a valid integer",
        ),
        (lambda s: s.update(activeDeadlineSeconds="6h"), "spec.activeDeadlineSeconds"),
        (
            lambda s: s["templates"][2]["container"].update(imagePullPolcy="Always"),
            "spec.templates.2.container.imagePullPolcy: is not a field",
        ),
        (
            lambda s: s["templates"][2]["retryStrategy"].update(limit=2.5),
            "spec.templates.2.retryStrategy.limit",
        ),
    ],
)
def test_a_misspelled_or_mistyped_field_fails_validation(
    dev: Graph, change: Any, complaint: str
) -> None:
    broken = json.loads(json.dumps(template(dev)))
    change(broken["spec"])
    problems = validate_argo(broken, "WorkflowTemplate 'retrain-pipeline'")
    assert any(complaint in problem for problem in problems), problems


def test_every_template_waits_for_the_chart_that_brings_its_crd(stack: Graph) -> None:
    for resource in stack.of_type(TEMPLATE_TOKEN):
        releases = [
            stack.by_urn(urn)["inputs"].get("chart") for urn in resource.get("dependencies", [])
        ]
        assert "argo-workflows" in releases, (
            f"stack {stack.stack}: WorkflowTemplate {resource['name']} must depend on the "
            "argo-workflows release"
        )


def test_the_controller_is_namespaced_pinned_and_unexposed(stack: Graph) -> None:
    (release,) = [
        r for r in stack.of_type(HELM_RELEASE) if r["inputs"]["chart"] == "argo-workflows"
    ]
    values = controller_values(stack)
    assert release["inputs"]["namespace"] == contracts.TRAINING_NAMESPACE
    assert release["inputs"]["version"].count(".") == 2, "the chart version must be pinned"
    assert values["singleNamespace"] is True
    assert values["server"]["enabled"] is False, "no Argo Server: nothing to expose or log in to"
    assert values["controller"]["nodeSelector"] == scheduling.SYSTEM_NODE_SELECTOR
    assert values["controller"]["metricsConfig"]["enabled"] is True
    assert values["controller"]["resources"]["requests"]["memory"]


def test_dev_controller_asks_little_of_the_system_node(dev: Graph) -> None:
    requests = controller_values(dev)["controller"]["resources"]["requests"]
    assert requests == {"cpu": "50m", "memory": "96Mi"}


def test_the_controller_runs_under_pod_security_restricted(stack: Graph) -> None:
    values = controller_values(stack)
    for context in (values["controller"]["securityContext"], values["executor"]["securityContext"]):
        assert context["allowPrivilegeEscalation"] is False
        assert context["runAsNonRoot"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_pipeline_pods_are_training_pods(stack: Graph) -> None:
    spec, trainer = template(stack)["spec"], trainer_pod(stack)
    assert spec["serviceAccountName"] == trainer["serviceAccountName"]
    assert spec["securityContext"] == trainer["securityContext"]
    (container,) = trainer["containers"]
    expected_env = [e for e in container["env"] if e["name"] not in LAUNCHER_ENV]
    for name in ("prepare", "candidate", "finish", "finish-without-promotion"):
        pod = step(stack, name)
        assert pod["nodeSelector"] == trainer["nodeSelector"], name
        assert pod["tolerations"] == trainer["tolerations"], name
        assert pod["container"]["image"] == container["image"], name
        assert pod["container"]["securityContext"] == container["securityContext"], name
        assert sorted(pod["container"]["env"], key=str) == sorted(expected_env, key=str), name


def test_only_candidates_request_gpus_as_the_training_pods_do(stack: Graph) -> None:
    (container,) = trainer_pod(stack)["containers"]
    assert step(stack, "candidate")["container"]["resources"] == container["resources"]
    for name in ("prepare", "finish"):
        limits = step(stack, name)["container"]["resources"]["limits"]
        assert scheduling.GPU_RESOURCE not in limits, f"{name} must not hold a GPU"


def test_the_app_containers_get_no_kubernetes_token(stack: Graph) -> None:
    spec = template(stack)["spec"]
    assert spec["automountServiceAccountToken"] is False
    executor = spec["executor"]["serviceAccountName"]
    token = stack.manifest("Secret", f"{executor}.service-account-token")
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"] == {"kubernetes.io/service-account.name": executor}


def test_the_executor_may_only_report_step_results(stack: Graph) -> None:
    executor = template(stack)["spec"]["executor"]["serviceAccountName"]
    role = stack.manifest("Role", executor)
    assert role["rules"] == [
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtaskresults"],
            "verbs": ["create", "patch"],
        }
    ]
    binding = stack.manifest("RoleBinding", executor)
    assert binding["subjects"][0]["name"] == executor
    assert binding["roleRef"]["name"] == executor


def test_the_trigger_may_create_and_list_workflows_in_its_namespace(stack: Graph) -> None:
    binding = next(
        b
        for b in stack.manifests("RoleBinding")
        if b["subjects"][0]["name"] == contracts.RETRAIN_TRIGGER
        and b["roleRef"]["name"].endswith("-workflows")
    )
    assert binding["metadata"]["namespace"] == contracts.TRAINING_NAMESPACE
    role = stack.manifest("Role", binding["roleRef"]["name"])
    (rule,) = role["rules"]
    assert rule["apiGroups"] == [contracts.WORKFLOWS_API_GROUP]
    assert rule["resources"] == ["workflows"]
    assert {"create", "list"} <= set(rule["verbs"]) and "delete" not in rule["verbs"]


def test_the_template_takes_the_contract_parameters(stack: Graph) -> None:
    parameters = {p["name"]: p["value"] for p in template(stack)["spec"]["arguments"]["parameters"]}
    assert set(parameters) == {
        contracts.PIPELINE_CANDIDATES_PARAMETER,
        contracts.PIPELINE_EPOCHS_PARAMETER,
        contracts.PIPELINE_PROMOTE_PARAMETER,
    }
    assert json.loads(parameters[contracts.PIPELINE_CANDIDATES_PARAMETER])
    assert parameters[contracts.PIPELINE_PROMOTE_PARAMETER] == "true"


def test_candidates_fan_out_only_after_a_prepared_run(stack: Graph) -> None:
    tasks = {t["name"]: t for t in step(stack, "retrain")["dag"]["tasks"]}
    candidate = tasks["candidate"]
    assert candidate["withParam"] == "{{workflow.parameters.candidates}}"
    assert candidate["depends"] == "prepare"
    for name in ("candidate", "finish", "finish-without-promotion"):
        assert "tasks.prepare.outputs.parameters.run-id" in tasks[name]["when"], name
    assert step(stack, "prepare")["outputs"]["parameters"][0]["valueFrom"]["path"] == (
        "/tmp/run-id"
    )
    assert "--promote" in step(stack, "finish")["container"]["command"]
    assert "--promote" not in step(stack, "finish-without-promotion")["container"]["command"]


def test_a_failed_candidate_ends_the_training_run_instead_of_leaving_it_open(
    stack: Graph,
) -> None:
    tasks = {t["name"]: t for t in step(stack, "retrain")["dag"]["tasks"]}
    abandon = tasks["abandon"]
    assert abandon["depends"] == "candidate.Failed || candidate.Errored"
    assert "tasks.prepare.outputs.parameters.run-id" in abandon["when"]
    command = step(stack, "abandon")["container"]["command"]
    assert command[-3:] == ["abandon", "--run-id", "{{inputs.parameters.run-id}}"]


def test_the_schedule_submits_the_pipeline_and_the_cronjob_only_keeps_its_template(
    stack: Graph,
) -> None:
    cron = stack.manifest("CronWorkflow", contracts.retrain_schedule(FIRST))
    assert validate_argo(cron, "CronWorkflow") == []
    job = stack.manifest("CronJob", contracts.retrain_cronjob(FIRST))
    assert cron["spec"]["schedules"] == [job["spec"]["schedule"]]
    assert cron["spec"]["timezone"] == job["spec"]["timeZone"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["workflowSpec"] == {
        "workflowTemplateRef": {"name": contracts.retrain_pipeline(FIRST)}
    }
    # Two schedules would start two trainings; the CronJob stays for one-off Jobs from it.
    assert job["spec"]["suspend"] is True


def test_finished_runs_and_their_pods_are_cleaned_up(stack: Graph) -> None:
    spec = template(stack)["spec"]
    assert spec["podGC"]["strategy"] == "OnPodSuccess"
    assert spec["ttlStrategy"]["secondsAfterCompletion"] > 0
    assert spec["activeDeadlineSeconds"] > 0
    assert spec["synchronization"] == {"mutexes": [{"name": contracts.retrain_pipeline(FIRST)}]}


def test_an_evicted_candidate_is_retried_but_an_app_failure_is_not(stack: Graph) -> None:
    retry = step(stack, "candidate")["retryStrategy"]
    assert int(retry["limit"]) >= 1
    assert 'lastRetry.status == "Error"' in retry["expression"]
    assert "not in [1, 2]" in retry["expression"]


def test_parallelism_stays_within_the_gpu_pool(stack: Graph) -> None:
    spec = template(stack)["spec"]
    (gpu_pool,) = [
        r for r in stack.of_type("aws:eks/nodeGroup:NodeGroup") if r["name"].endswith("-gpu")
    ]
    assert spec["parallelism"] <= gpu_pool["inputs"]["scalingConfig"]["maxSize"]


def test_pipeline_pods_and_the_controller_have_network_policies(stack: Graph) -> None:
    pipeline = stack.manifest("NetworkPolicy", contracts.RETRAIN_PIPELINE)
    assert pipeline["spec"]["ingress"] == []
    assert any(
        port.get("port") == contracts.TRACKING_PORT
        for rule in pipeline["spec"]["egress"]
        for port in rule.get("ports", [])
    )
    controller = stack.manifest("NetworkPolicy", "argo-workflows-workflow-controller")
    assert controller["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == (
        "argo-workflows-workflow-controller"
    )


def test_the_controller_is_scraped_like_the_other_monitors(stack: Graph) -> None:
    monitor = stack.manifest("ServiceMonitor", "argo-workflows-controller")
    assert monitor["metadata"]["namespace"] == contracts.MONITORING_NAMESPACE
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [contracts.TRAINING_NAMESPACE]}
    assert validate_manifest(monitor) == []


def test_local_has_no_workflows(local: Graph) -> None:
    assert not local.of_type(TEMPLATE_TOKEN)
    assert not [r for r in local.of_type(HELM_RELEASE) if r["inputs"]["chart"] == "argo-workflows"]


def test_the_triggers_workflow_validates_and_names_the_template(stack: Graph) -> None:
    # The app's trigger builds the Workflow it submits; it must name this template and carry
    # nothing Argo would refuse.
    workflow = workflow_from_template(
        contracts.retrain_pipeline(FIRST), "retrain-pipeline-1", "drift"
    )
    assert validate_manifest(workflow) == []
    assert TEMPLATE_LABEL == contracts.WORKFLOW_TEMPLATE_LABEL
    assert template(stack)["metadata"]["name"] == workflow["spec"]["workflowTemplateRef"]["name"]
