"""Argo Workflows custom resources against Argo's own API, field by field.

The chart's CRDs are minimal (they accept any spec), so the cluster would take a misspelled
field and the workflow would fail, or silently lose the setting, only when it runs. Hera's
models are generated from Argo's OpenAPI document (hera 7.1: Argo 4.0), so they check every
field's type; they ignore unknown fields, so a field the models drop on a round trip (or read
as another value) is reported too: that is how a misspelled key shows up.
"""

from __future__ import annotations

from typing import Any

from hera.workflows.models import ClusterWorkflowTemplate, CronWorkflow, Workflow, WorkflowTemplate
from pydantic import BaseModel, ValidationError

from infra_tools.inputs import as_list, mapping

API_GROUP = "argoproj.io/"
API_VERSION = "argoproj.io/v1alpha1"
MODELS: dict[str, type[BaseModel]] = {
    "Workflow": Workflow,
    "WorkflowTemplate": WorkflowTemplate,
    "ClusterWorkflowTemplate": ClusterWorkflowTemplate,
    "CronWorkflow": CronWorkflow,
}


def is_argo(api_version: str) -> bool:
    return api_version.startswith(API_GROUP)


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path) or "<root>"


def _lost(given: Any, kept: Any, path: tuple[str | int, ...] = ()) -> list[str]:
    """What a round trip through the models did not keep as it was given."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [f"{_dotted(path)}: is not an object in Argo's schema"]
        kept_map = mapping(kept)
        problems: list[str] = []
        for key, value in mapping(given).items():
            if key not in kept_map:
                problems.append(f"{_dotted((*path, key))}: is not a field of Argo's schema")
            else:
                problems += _lost(value, kept_map[key], (*path, key))
        return problems
    if isinstance(given, list):
        items, kept_items = as_list(given), as_list(kept) if isinstance(kept, list) else []
        if len(items) != len(kept_items):
            return [f"{_dotted(path)}: is not a list in Argo's schema"]
        return [p for i, item in enumerate(items) for p in _lost(item, kept_items[i], (*path, i))]
    if given != kept or type(given) is not type(kept):
        return [f"{_dotted(path)}: {given!r} is not of the field's type (read as {kept!r})"]
    return []


def validate_argo(manifest: dict[str, Any], where: str) -> list[str]:
    """Problems with one argoproj.io manifest, each naming the object and the field."""
    api_version, kind = manifest.get("apiVersion"), str(manifest.get("kind", ""))
    model = MODELS.get(kind)
    if api_version != API_VERSION or model is None:
        return [f"{where}: not an Argo Workflows kind ({API_VERSION}: {', '.join(MODELS)})"]
    try:
        parsed = model.model_validate(manifest)
    except ValidationError as exc:
        return [
            f"{where}: {_dotted(tuple(error['loc']))}: {error['msg']}" for error in exc.errors()
        ]
    kept = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return [f"{where}: {problem}" for problem in _lost(manifest, kept)]
