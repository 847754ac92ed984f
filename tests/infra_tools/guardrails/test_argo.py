"""Argo Workflows objects are checked field by field against Argo's own API models."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra_tools.guardrails.manifests import validate_manifest

WORKFLOW: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "retrain-pipeline-", "namespace": "training"},
    "spec": {
        "workflowTemplateRef": {"name": "retrain-pipeline"},
        "arguments": {"parameters": [{"name": "epochs", "value": "5"}]},
    },
}
CRON: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "CronWorkflow",
    "metadata": {"name": "nightly"},
    "spec": {
        "schedules": ["0 3 * * *"],
        "concurrencyPolicy": "Forbid",
        "workflowSpec": {"workflowTemplateRef": {"name": "retrain-pipeline"}},
    },
}


@pytest.mark.parametrize("manifest", [WORKFLOW, CRON], ids=["Workflow", "CronWorkflow"])
def test_valid_objects_pass(manifest: dict[str, Any]) -> None:
    assert validate_manifest(manifest) == []


def test_a_misspelled_field_is_named() -> None:
    broken = copy.deepcopy(WORKFLOW)
    broken["spec"]["workflowTemplateRef"] = {"nme": "retrain-pipeline"}
    assert validate_manifest(broken) == [
        "Workflow '?' (argoproj.io/v1alpha1): spec.workflowTemplateRef.nme: "
        "is not a field of Argo's schema"
    ]


def test_a_value_of_the_wrong_type_is_named() -> None:
    broken = copy.deepcopy(CRON)
    broken["spec"]["schedules"] = "0 3 * * *"
    (problem,) = validate_manifest(broken)
    assert problem.startswith("CronWorkflow 'nightly' (argoproj.io/v1alpha1): spec.schedules:")


def test_a_value_the_schema_would_coerce_is_refused() -> None:
    broken = copy.deepcopy(CRON)
    broken["spec"]["suspend"] = "false"
    (problem,) = validate_manifest(broken)
    assert "spec.suspend: 'false' is not of the field's type (read as False)" in problem


def test_an_unknown_argo_kind_is_refused() -> None:
    unknown = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflo", "metadata": {"name": "x"}}
    (problem,) = validate_manifest(unknown)
    assert "not an Argo Workflows kind" in problem
