"""`python -m infra_tools.ci.bootstrap`: what the deploy job's first `pulumi up` targets on a
stack's first deploy (see tests/infra/test_first_deploy.py for the stages themselves)."""

from __future__ import annotations

from infra_tools.ci.bootstrap import bootstrap_targets
from infra_tools.type_tokens import ECR_REPOSITORY, KUBERNETES_PREFIX
from tests.infra.graph import Graph


def test_the_image_repository_stage_targets_exactly_the_repository(dev: Graph) -> None:
    """The deploy job's first `pulumi up` (`--target` these, `--target-dependencies`) must
    create the repository the first images are pushed to, and nothing on the cluster."""
    targets = bootstrap_targets(dev.resources)
    assert targets == [r["urn"] for r in dev.of_type(ECR_REPOSITORY)] and len(targets) == 1
    repository = dev.by_urn(targets[0])
    for urn in repository["dependencies"]:
        assert not dev.by_urn(urn)["type"].startswith(KUBERNETES_PREFIX), urn
