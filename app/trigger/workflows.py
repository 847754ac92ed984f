"""Submitting one training pipeline from its WorkflowTemplate (Argo Workflows), never two at once.

Where the cluster runs the pipeline on Argo Workflows, a retraining is a Workflow that
references the template `retrain-pipeline` (prepare → candidates in parallel → finish); the
template's parameters keep their defaults. Same guarantees as the Job launcher: nothing starts
while a pipeline is still pending or running, and within one window racing requests map to one
Workflow name, so the API server refuses the second (409).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, cast

from app.trigger.jobs import REASON_ANNOTATION, LaunchResult
from app.trigger.kube import AlreadyExistsError

TEMPLATE_LABEL = "workflows.argoproj.io/workflow-template"
"""The label Argo puts on every Workflow created from a WorkflowTemplate."""
FINISHED_PHASES = frozenset({"Succeeded", "Failed", "Error"})


class WorkflowsApi(Protocol):
    def list_workflows(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...
    def create_workflow(self, namespace: str, workflow: dict[str, Any]) -> dict[str, Any]: ...


def workflow_is_active(workflow: dict[str, Any]) -> bool:
    """Pending, running, or not yet picked up by the controller (no phase)."""
    status = workflow.get("status")
    phase = cast(dict[str, Any], status).get("phase") if isinstance(status, dict) else None
    return phase not in FINISHED_PHASES


def workflow_from_template(template: str, name: str, reason: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": name,
            # Set by the controller too; set here so a list right after the create sees it.
            "labels": {TEMPLATE_LABEL: template},
            "annotations": {REASON_ANNOTATION: reason[:256]},
        },
        "spec": {"workflowTemplateRef": {"name": template}},
    }


class WorkflowLauncher:
    """Submits a pipeline unless one (from any source) is still pending or running."""

    def __init__(
        self,
        api: WorkflowsApi,
        namespace: str,
        template: str,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api = api
        self._namespace = namespace
        self._template = template
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def launch(self, reason: str) -> LaunchResult:
        with self._lock:
            selector = f"{TEMPLATE_LABEL}={self._template}"
            running = [
                w
                for w in self._api.list_workflows(self._namespace, selector)
                if workflow_is_active(w)
            ]
            if running:
                return LaunchResult("already-running", running[0]["metadata"]["name"])
            name = f"{self._template}-{int(self._clock()) // self._window}"
            try:
                self._api.create_workflow(
                    self._namespace, workflow_from_template(self._template, name, reason)
                )
            except AlreadyExistsError:
                return LaunchResult("already-created", name)
            return LaunchResult("created", name)
