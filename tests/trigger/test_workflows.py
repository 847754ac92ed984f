"""Retraining as a pipeline Workflow from its template: one at a time, one per window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.trigger.kube import AlreadyExistsError, KubernetesApi
from app.trigger.workflows import TEMPLATE_LABEL, WorkflowLauncher

TEMPLATE = "retrain-pipeline"


class FakeWorkflows:
    def __init__(self, existing: list[dict[str, Any]] | None = None) -> None:
        self.workflows = list(existing or [])
        self.selectors: list[str] = []

    def list_workflows(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        self.selectors.append(label_selector)
        return list(self.workflows)

    def create_workflow(self, namespace: str, workflow: dict[str, Any]) -> dict[str, Any]:
        if any(w["metadata"]["name"] == workflow["metadata"]["name"] for w in self.workflows):
            raise AlreadyExistsError(409, "exists")
        self.workflows.append({**workflow, "status": {"phase": "Succeeded"}})
        return workflow


def _existing(name: str, phase: str | None) -> dict[str, Any]:
    return {"metadata": {"name": name}, **({"status": {"phase": phase}} if phase else {})}


def test_a_retraining_is_a_workflow_from_the_template_and_racers_in_one_window_make_one() -> None:
    api = FakeWorkflows()
    launcher = WorkflowLauncher(api, "training", TEMPLATE, 600, clock=lambda: 1_200.0)
    first = launcher.launch("new data: datasets/iris/a.csv")
    assert (first.outcome, first.job) == ("created", f"{TEMPLATE}-2")
    created = api.workflows[0]
    assert created["spec"] == {"workflowTemplateRef": {"name": TEMPLATE}}
    assert created["metadata"]["labels"] == {TEMPLATE_LABEL: TEMPLATE}
    assert launcher.launch("drift").outcome == "already-created"
    assert api.selectors[0] == f"{TEMPLATE_LABEL}={TEMPLATE}"


def test_nothing_starts_while_a_pipeline_is_pending_or_running() -> None:
    for phase in ("Pending", "Running", None):
        api = FakeWorkflows([_existing("retrain-pipeline-1", phase)])
        result = WorkflowLauncher(api, "training", TEMPLATE, 600).launch("drift")
        assert (result.outcome, result.job) == ("already-running", "retrain-pipeline-1"), phase
        assert len(api.workflows) == 1


def test_finished_pipelines_do_not_block_the_next() -> None:
    api = FakeWorkflows(
        [_existing("a", "Succeeded"), _existing("b", "Failed"), _existing("c", "Error")]
    )
    assert WorkflowLauncher(api, "training", TEMPLATE, 600).launch("drift").outcome == "created"


def test_the_client_talks_to_argos_workflow_resource(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t")
    api = KubernetesApi("https://k8s", token, None)
    seen: list[tuple[str, str]] = []

    def request(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        seen.append((method, path))
        return {"items": []}

    api._request = request  # type: ignore[method-assign]
    api.list_workflows("training", f"{TEMPLATE_LABEL}={TEMPLATE}")
    api.create_workflow("training", {})
    base = "/apis/argoproj.io/v1alpha1/namespaces/training/workflows"
    assert seen == [
        ("GET", f"{base}?labelSelector=workflows.argoproj.io%2Fworkflow-template%3D{TEMPLATE}"),
        ("POST", base),
    ]
