"""Kubernetes manifests against the cluster version's schemas and the vendored CRD schemas."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # pyright: ignore[reportMissingTypeStubs]
import yaml

from infra_tools.guardrails.argo import is_argo, validate_argo
from infra_tools.inputs import as_list, mapping
from infra_tools.synth.recorder import SECRET

SCHEMAS = Path(__file__).parent / "schemas"
DEFAULT_VERSION = "1.33"


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON schema, from schemas/<group>_<version>_<kind>.yaml."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(SCHEMAS.glob("*.yaml")):
        schema: dict[str, Any] = yaml.safe_load(path.read_text())
        properties = schema["properties"]
        found[(properties["apiVersion"]["const"], properties["kind"]["const"])] = schema
    return found


def _is_core(api_version: str) -> bool:
    # Built-in groups carry no dot (v1, apps/v1, batch/v1) or end in .k8s.io.
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return "." not in group or group.endswith(".k8s.io")


def _unmasked(value: Any) -> Any:
    """The manifest without values synth masked as secret (their shape is unknown offline)."""
    if isinstance(value, dict):
        return {k: _unmasked(v) for k, v in mapping(value).items() if v != SECRET}
    if isinstance(value, list):
        return [_unmasked(item) for item in as_list(value)]
    return value


def validate_manifest(manifest: dict[str, Any], version: str = DEFAULT_VERSION) -> list[str]:
    """Problems with one manifest, each naming the object and the offending field."""
    manifest = _unmasked(manifest)
    api_version, kind = str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
    name = mapping(manifest.get("metadata")).get("name", "?")
    where = f"{kind} '{name}' ({api_version})"
    schema = crd_schemas().get((api_version, kind))
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        errors: list[Any] = list(validator.iter_errors(manifest))  # pyright: ignore[reportUnknownMemberType]
        return [
            f"{where}: {'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in errors
        ]
    if is_argo(api_version):
        return validate_argo(manifest, where)
    if not _is_core(api_version):
        return [
            f"{where}: no vendored schema for this custom resource; add "
            f"infra_tools/guardrails/schemas/<group>_<version>_{kind.lower()}.yaml from its CRD"
        ]
    try:
        kubernetes_validate.validate(manifest, f"{version}.0", strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "<root>"
        return [f"{where}: {path}: {exc.message} (Kubernetes {version} schema)"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{where}: kind is not in the Kubernetes {version} API; check apiVersion/kind"]
    return []


def validate_manifests(
    manifests: list[dict[str, Any]], version: str = DEFAULT_VERSION
) -> list[str]:
    return [problem for manifest in manifests for problem in validate_manifest(manifest, version)]
