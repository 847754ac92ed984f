"""Every Kubernetes object validates against the OpenAPI schema of the stack's cluster version."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions, major_minor
from packaging.version import Version

from infra_tools.synth.recorder import SECRET
from infra_tools.synth.stackfile import PROJECT_ROOT
from tests.infra.graph import Graph

# Custom resources of operators the stack installs; the core schema cannot know them
# (their own tests check them against the operator's CRDs).
CUSTOM_GROUPS = ("monitoring.coreos.com/", "argoproj.io/")


def schema_version(stack: str) -> str:
    """The newest bundled schema not newer than the stack's cluster version."""
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    wanted = Version(
        str(document["config"].get("mlops-platform:cluster", {}).get("version", "1.33"))
    )
    bundled = sorted({major_minor(v) for v in all_versions()}, key=Version)
    usable = [v for v in bundled if Version(v) <= wanted]
    if not usable:
        pytest.fail(
            f"kubernetes-validate bundles schemas {bundled[0]}..{bundled[-1]}, none for cluster "
            f"{wanted}; upgrade it with `uv add --group dev kubernetes-validate`",
            pytrace=False,
        )
    return f"{usable[-1]}.0"


def unmasked(manifest: dict[str, Any]) -> dict[str, Any]:
    """Secrets are masked as one string by synth; give the schema a map in their place."""
    copied = copy.deepcopy(manifest)
    for key in ("data", "stringData"):
        if copied.get(key) == SECRET:
            copied[key] = {"masked": "value"}
    return copied


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_object_validates_against_the_cluster_schema(
    stack: str, graphs: dict[str, Graph]
) -> None:
    version = schema_version(stack)
    checked = 0
    errors: list[str] = []
    for manifest in graphs[stack].manifests():
        if manifest["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        name = f"{manifest['kind']}/{manifest['metadata'].get('name')}"
        try:
            # strict: unknown fields fail, which is how a misspelled key shows up offline.
            kubernetes_validate.validate(unmasked(manifest), version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: {exc.message}")
        checked += 1
    assert not errors, f"stack {stack} against Kubernetes {version}:\n" + "\n".join(errors)
    assert checked >= 20, f"stack {stack}: only {checked} objects checked; is the cluster on?"


def test_a_misspelled_field_fails_validation() -> None:
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80}], "selectr": {"a": "b"}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33.0", strict=True)
