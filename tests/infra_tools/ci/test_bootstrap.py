"""`python -m infra_tools.ci.bootstrap`: what the deploy job's first `pulumi up` targets on a
stack's first deploy (see tests/infra/test_first_deploy.py for the stages themselves)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra_tools.ci.bootstrap import bootstrap_targets, deployed_urn
from infra_tools.type_tokens import ECR_REPOSITORY, KUBERNETES_PREFIX
from tests.infra.graph import Graph


def _closed_under_what_pulumi_checks(graph: Graph, targets: list[str]) -> list[str]:
    """What `pulumi up --target` would refuse on an empty stack: a target whose dependency,
    parent component or provider is neither targeted nor deployed (here nothing is)."""
    by_urn = {deployed_urn(r["urn"]): r for r in graph.resources}
    missing: list[str] = []
    for urn in targets:
        resource = by_urn[urn]
        needs = list(resource["dependencies"])
        needs += [resource["parent"]] if resource.get("parent") else []
        needs += [resource["provider"].rsplit("::", 1)[0]] if resource.get("provider") else []
        for need in map(deployed_urn, needs):
            # The stack itself exists before any resource does.
            if "::pulumi:pulumi:Stack::" not in need and need not in targets:
                missing.append(f"{urn} needs {need}")
    return missing


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_image_repository_stage_creates_the_repository_and_only_what_it_needs(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    targets = bootstrap_targets(graph.resources)
    repositories = [deployed_urn(r["urn"]) for r in graph.of_type(ECR_REPOSITORY)]
    assert len(repositories) == 1 and repositories[0] in targets
    assert _closed_under_what_pulumi_checks(graph, targets) == []
    types = {graph.by_urn(urn)["type"] for urn in map(_recorded(graph), targets)}
    assert types == {
        ECR_REPOSITORY,
        "aws:kms/key:Key",
        "mlops-platform:storage:ModelStore",
        "pulumi:providers:aws",
    }, types
    assert not any(t.startswith(KUBERNETES_PREFIX) for t in types)


def test_urns_are_the_ones_a_real_deploy_registers(dev: Graph) -> None:
    """A real deploy leaves the root stack out of every URN's type chain."""
    for urn in bootstrap_targets(dev.resources):
        assert urn.startswith("urn:pulumi:dev::mlops-platform::"), urn
        assert "pulumi:pulumi:Stack" not in urn, urn


def _recorded(graph: Graph) -> Callable[[str], str]:
    """From a deployed URN back to the one the synthesis recorded."""
    return {deployed_urn(r["urn"]): r["urn"] for r in graph.resources}.__getitem__
