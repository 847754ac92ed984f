"""Manifests against their schemas; checkov and hadolint over manifests and the Dockerfile."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_tools.guardrails.manifests import validate_manifest, validate_manifests
from infra_tools.guardrails.scanners import ScannerMissingError, checkov, hadolint, skips
from infra_tools.synth import Synthesis
from infra_tools.synth.stackfile import PROJECT_ROOT

# Slow: checkov and hadolint processes; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

DOCKERFILE = PROJECT_ROOT / "app" / "Dockerfile"


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_manifest_matches_its_schema(stack: str, syntheses: dict[str, Synthesis]) -> None:
    assert validate_manifests(syntheses[stack].graph.manifests()) == []


def test_a_misspelled_alert_field_is_caught_by_the_vendored_crd_schema() -> None:
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "r"},
        "spec": {
            "groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "fro": "5m"}]}]
        },
    }
    assert "'fro' was unexpected" in validate_manifest(rule)[0]


def test_a_custom_resource_without_a_vendored_schema_fails_with_the_fix() -> None:
    found = validate_manifest(
        {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "n"}}
    )
    assert "infra_tools/guardrails/schemas" in found[0]


def test_every_skip_has_a_reason() -> None:
    assert all(reason.strip() for entries in skips().values() for reason in entries.values())


def _scan(function: object, *args: object) -> list[object]:
    try:
        return function(*args)  # type: ignore[operator, no-any-return]
    except ScannerMissingError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_checkov_finds_nothing_in_the_manifests(stack: str, synth_dirs: dict[str, Path]) -> None:
    assert _scan(checkov, synth_dirs[stack] / "manifests", "kubernetes") == []


def test_checkov_flags_a_privileged_pod(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx:1.27\n    securityContext: {privileged: true}\n"
    )
    assert any(f.check == "CKV_K8S_16" for f in _scan(checkov, tmp_path, "kubernetes"))  # type: ignore[attr-defined]


def test_dockerfile_passes_checkov_and_hadolint() -> None:
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing; the app image is built from it"
    assert _scan(hadolint, DOCKERFILE) == []
    assert _scan(checkov, DOCKERFILE.parent, "dockerfile") == []


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\n")
    assert {f.check for f in _scan(hadolint, bad)} >= {"DL3006"}  # type: ignore[attr-defined]
