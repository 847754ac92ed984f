"""Creating one retraining Job from the CronJob's template, never two at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from app.trigger.kube import AlreadyExistsError

Outcome = Literal["created", "already-running", "already-created"]
# Shared with `kubectl create job --from=cronjob/...`, so the origin of a Job stays visible.
INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"
REASON_ANNOTATION = "mlops-platform/retrain-reason"


class JobsApi(Protocol):
    def get_cronjob(self, namespace: str, name: str) -> dict[str, Any]: ...
    def list_jobs(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...
    def create_job(self, namespace: str, job: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LaunchResult:
    outcome: Outcome
    job: str


class Launcher(Protocol):
    """Starts one retraining (a Job, or a pipeline Workflow) unless one is under way."""

    def launch(self, reason: str) -> LaunchResult: ...


def _mapping(value: Any) -> dict[str, Any]:
    """A JSON object of the Kubernetes API, or an empty one where the field is absent."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def job_is_active(job: dict[str, Any]) -> bool:
    """A Job counts as active until it has a true Complete or Failed condition."""
    conditions = cast(list[Any], _mapping(job.get("status")).get("conditions") or [])
    for condition in map(_mapping, conditions):
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return False
    return True


def job_from_cronjob(cronjob: dict[str, Any], name: str, reason: str) -> dict[str, Any]:
    """The Job `kubectl create job NAME --from=cronjob/...` would create, plus the reason."""
    template = cronjob["spec"]["jobTemplate"]
    template_meta = _mapping(template.get("metadata"))
    meta = cronjob["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": dict(_mapping(template_meta.get("labels"))),
            "annotations": {
                **_mapping(template_meta.get("annotations")),
                INSTANTIATE_ANNOTATION: "manual",
                REASON_ANNOTATION: reason[:256],
            },
            # Owned by the CronJob, so its Forbid policy and history limits see this Job too.
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": template["spec"],
    }


class RetrainLauncher:
    """Starts a retraining Job unless one (from any source) is still running."""

    def __init__(
        self,
        api: JobsApi,
        namespace: str,
        cronjob: str,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api = api
        self._namespace = namespace
        self._cronjob = cronjob
        self._window = window_seconds
        self._clock = clock
        # Serializes check-then-create within this process; across processes the
        # per-window Job name makes the API server reject the second create (409).
        self._lock = threading.Lock()

    def launch(self, reason: str) -> LaunchResult:
        with self._lock:
            cronjob = self._api.get_cronjob(self._namespace, self._cronjob)
            template = _mapping(_mapping(cronjob.get("spec")).get("jobTemplate"))
            labels = _mapping(_mapping(template.get("metadata")).get("labels"))
            selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
            running = [
                job for job in self._api.list_jobs(self._namespace, selector) if job_is_active(job)
            ]
            if running:
                return LaunchResult("already-running", running[0]["metadata"]["name"])
            name = f"{self._cronjob}-drift-{int(self._clock()) // self._window}"
            try:
                self._api.create_job(self._namespace, job_from_cronjob(cronjob, name, reason))
            except AlreadyExistsError:
                return LaunchResult("already-created", name)
            return LaunchResult("created", name)
