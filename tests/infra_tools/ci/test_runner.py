"""`python -m infra_tools.ci.runner`: what stops a deploy job before it deploys anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_tools.ci.runner import GITHUB_HOSTED, deploy_problems
from tests.infra.stackfiles import stack_root_with

CERTIFICATE = "arn:aws:acm:us-east-1:444455556666:certificate/1b2c3d4e-0000-4a4a-9f9f-0123456789ab"


def _root(tmp_path: Path, stack: str, changes: dict[str, object] | None = None) -> Path:
    defaults: dict[str, object] = (
        {"mlops-platform:app.exposure.certificateArn": CERTIFICATE} if stack == "prod" else {}
    )
    return stack_root_with(tmp_path, stack, {**defaults, **(changes or {})})


def test_a_private_endpoint_needs_a_runner_inside_the_vpc(tmp_path: Path) -> None:
    root = _root(tmp_path, "prod")
    (problem,) = deploy_problems("prod", GITHUB_HOSTED, None, root)
    assert "private" in problem and "DEPLOY_RUNNER_LABELS_PROD" in problem
    assert deploy_problems("prod", "self-hosted", None, root) == []


@pytest.mark.parametrize(
    ("egress", "blocked"), [("198.51.100.7", True), ("203.0.113.40", False), (None, False)]
)
def test_a_public_endpoint_admits_only_runners_in_its_cidrs(
    tmp_path: Path, egress: str | None, blocked: bool
) -> None:
    """Dev's committed file admits 203.0.113.0/24; an unknown address cannot be judged."""
    problems = deploy_problems("dev", GITHUB_HOSTED, egress, _root(tmp_path, "dev"))
    assert bool(problems) is blocked, problems
    if blocked:
        assert "198.51.100.7" in problems[0] and "publicAccessCidrs" in problems[0]


@pytest.mark.parametrize(
    "example",
    [
        "arn:aws:acm:us-east-1:111122223333:certificate/1b2c3d4e-0000-4a4a-9f9f-0123456789ab",
        "arn:aws:acm:us-east-1:444455556666:certificate/00000000-0000-0000-0000-000000000000",
    ],
)
def test_the_example_certificate_is_refused(tmp_path: Path, example: str) -> None:
    root = _root(tmp_path, "prod", {"mlops-platform:app.exposure.certificateArn": example})
    (problem,) = deploy_problems("prod", "self-hosted", None, root)
    assert "app.exposure.certificateArn" in problem and "example ARN" in problem


def test_a_cluster_less_stack_needs_no_runner_in_the_vpc(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        "prod",
        {"mlops-platform:cluster.enabled": False, "mlops-platform:monitoring.enabled": False},
    )
    assert deploy_problems("prod", GITHUB_HOSTED, None, root) == []
