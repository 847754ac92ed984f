"""Bad `mlops-platform:workflows` values fail with the key, the rule and the fix, before
anything is declared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra_tools.synth import synthesize
from tests.infra.stackfiles import stack_root_with

WORKFLOWS = "mlops-platform:workflows"


def problems(tmp_path: Path, stack: str, changes: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        synthesize(stack, stack_root_with(tmp_path, stack, changes))
    return raised.value.problems


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "candidates",
            ["32"],
            'is not HIDDEN:LR with HIDDEN >= 1 and 0 < LR < 1; use e.g. "32:0.01"',
        ),
        ("candidates", ["32:1.5"], "0 < LR < 1"),
        ("candidates", ["16:0.01", "16:0.01"], "lists a candidate twice"),
        ("candidates", [], "at least 1 item"),
        ("parallelism", 0, "greater than or equal to 1"),
        ("activeDeadlineSeconds", 60, "greater than or equal to 600"),
        ("controllerResources.memoryRequest", "96MB", "is not a Kubernetes quantity"),
        ("paralelism", 2, "is not a known setting"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    (problem,) = problems(tmp_path, "dev", {f"{WORKFLOWS}.{key}": value})
    assert f"{WORKFLOWS}.{key}" in problem
    assert message in problem


@pytest.mark.parametrize(
    "changes",
    [
        {"mlops-platform:tracking.enabled": False},
        {
            "mlops-platform:cluster.enabled": False,
            "mlops-platform:monitoring.enabled": False,
            "mlops-platform:tracking.enabled": False,
        },
    ],
    ids=["without-tracking", "network-stage"],
)
def test_workflows_are_declared_only_beside_the_cluster_and_tracking(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    graph = synthesize("dev", stack_root_with(tmp_path, "dev", changes)).graph
    assert not graph.manifests("WorkflowTemplate")


def test_a_stack_without_workflows_declares_none(tmp_path: Path) -> None:
    graph = synthesize(
        "dev", stack_root_with(tmp_path, "dev", {f"{WORKFLOWS}.enabled": False})
    ).graph
    assert not graph.manifests("WorkflowTemplate")
    assert not [m for m in graph.manifests("Role") if m["metadata"]["name"].endswith("-workflows")]
