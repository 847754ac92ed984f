"""`python -m infra_tools.ci.runner --stack prod`: can this CI runner deploy the stack at all?

`pulumi up` creates Kubernetes objects through the cluster's API endpoint. Prod's endpoint is
private: a GitHub-hosted runner cannot reach it, and the update would fail after long
timeouts, half applied. This check runs before anything is deployed and says what to change.
GitHub sets RUNNER_ENVIRONMENT to `github-hosted` or `self-hosted` on every runner.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from infra.config import ConfigError
from infra.config.cluster import ClusterConfig
from infra_tools.synth.stackfile import read_stack_file

GITHUB_HOSTED = "github-hosted"


def stack_cluster(stack: str) -> ClusterConfig:
    """The stack file's `cluster` section, validated as the program validates it."""
    config = read_stack_file(stack).config
    raw = config.get("mlops-platform:cluster")
    environment = config.get("mlops-platform:environment", stack)
    return ClusterConfig.model_validate(
        json.loads(raw) if raw else {}, context={"environment": environment}
    )


def runner_problem(stack: str, cluster: ClusterConfig, runner_environment: str) -> str | None:
    """Why this runner cannot deploy `stack`, or None when it can (or cannot be told)."""
    if not cluster.enabled or runner_environment != GITHUB_HOSTED:
        return None
    if not cluster.endpoint_public_access:
        return (
            f"stack {stack}'s EKS API endpoint is private, and this job runs on a GitHub-hosted "
            "runner outside its VPC; set the repository variable "
            f"DEPLOY_RUNNER_LABELS_{stack.upper()} to the labels of a self-hosted runner with a "
            'network path into the VPC (e.g. ["self-hosted","mlops-' + stack + '"]); see the '
            "README, Deploying"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra_tools.ci.runner")
    parser.add_argument("--stack", required=True, help="stack the job is about to deploy")
    args = parser.parse_args(argv)
    try:
        cluster = stack_cluster(args.stack)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = runner_problem(args.stack, cluster, os.environ.get("RUNNER_ENVIRONMENT", ""))
    if problem:
        print(f"::error::{problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
