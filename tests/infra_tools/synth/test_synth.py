"""`python -m infra_tools synth`: a stack's offline graph, as files reviewers and tools read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import AWS_PROVIDER
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with

# Slow: synth processes; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow


def run_tools(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra_tools", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_synth_writes_resources_outputs_and_manifests(stack: str, tmp_path: Path) -> None:
    result = run_tools("synth", "--stack", stack, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    resources = json.loads((tmp_path / "resources.json").read_text())
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert resources, f"stack {stack} declared no resources"
    for resource in resources:
        missing = {"urn", "type", "name", "parent", "provider", "dependencies", "options", "inputs"}
        missing -= resource.keys()
        assert not missing, f"{resource['urn']} lacks {missing}"
        assert {"protect", "retainOnDelete", "ignoreChanges"} <= resource["options"].keys()
    assert outputs["environment"] == stack
    assert (tmp_path / "manifests").is_dir()
    for manifest_file in (tmp_path / "manifests").glob("*.yaml"):
        manifest = yaml.safe_load(manifest_file.read_text())
        assert {"apiVersion", "kind", "metadata"} <= manifest.keys(), manifest_file.name


def test_integral_numbers_stay_integers(graphs: dict[str, Graph]) -> None:
    def floats(value: object) -> list[float]:
        if isinstance(value, float):
            return [value] if value.is_integer() else []
        if isinstance(value, dict):
            return [f for item in value.values() for f in floats(item)]
        if isinstance(value, list):
            return [f for item in value for f in floats(item)]
        return []

    for graph in graphs.values():
        for resource in graph.resources:
            assert not floats(resource["inputs"]), f"{resource['urn']} has integral floats"


def test_secrets_are_masked_in_the_written_graph(tmp_path: Path) -> None:
    result = run_tools("synth", "--stack", "local", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "resources.json").read_text() + (tmp_path / "outputs.json").read_text()
    assert "synth-placeholder-secret" not in text
    provider = next(
        r
        for r in json.loads((tmp_path / "resources.json").read_text())
        if r["type"] == AWS_PROVIDER
    )
    assert provider["inputs"]["secretKey"] == "[secret]"


def test_unknown_stack_exits_2_naming_the_known_ones(tmp_path: Path) -> None:
    result = run_tools("synth", "--stack", "staging", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "there is no Pulumi.staging.yaml; known stacks: dev, local, prod" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_stack_value_exits_2_with_key_rule_and_fix(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "prod", {"mlops-platform:network.azCount": 1})
    result = run_tools(
        "synth", "--stack", "prod", "--project-dir", str(root), "--out", str(tmp_path / "out")
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: Pulumi.prod.yaml: mlops-platform:network.azCount=1 must be >= 2 in prod "
        "(high availability); set it to 2 or 3"
    )
    assert not (tmp_path / "out" / "resources.json").exists(), "nothing is written on bad config"


def test_two_syntheses_of_the_same_program_write_identical_files(tmp_path: Path) -> None:
    """Registration order varies from run to run; the files must not, or every diff of two
    checkouts churns."""
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        result = run_tools("synth", "--stack", "dev", "--out", str(out))
        assert result.returncode == 0, result.stderr
    assert (first / "resources.json").read_text() == (second / "resources.json").read_text()
