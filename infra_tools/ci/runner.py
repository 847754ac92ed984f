"""`python -m infra_tools.ci.runner --stack prod`: can this job deploy the stack at all?

Checked before anything is deployed, because each fails late and half-applied otherwise:
- `pulumi up` creates Kubernetes objects through the cluster's API endpoint. Prod's endpoint is
  private, so a GitHub-hosted runner cannot reach it; dev's public one admits only
  `cluster.publicAccessCidrs`, which a GitHub-hosted runner's address (RUNNER_EGRESS_IP, when
  the job could learn it) must be in. GitHub sets RUNNER_ENVIRONMENT on every runner.
- A stack file still holding the example certificate ARN would have the load balancer's TLS
  listener fail after the Service has waited for an address for ten minutes.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from infra.config import ConfigError
from infra.config.cluster import ClusterConfig
from infra_tools.synth.stackfile import PROJECT_ROOT, read_stack_file

GITHUB_HOSTED = "github-hosted"
# The accounts AWS's documentation uses in examples, and an all-zero certificate id.
_EXAMPLE_CERTIFICATE = re.compile(
    r":(111122223333|123456789012):certificate/|certificate/0{8}-0{4}-0{4}-0{4}-0{12}$"
)


def _section(config: dict[str, str], key: str) -> dict[str, Any]:
    raw = config.get(f"mlops-platform:{key}")
    return json.loads(raw) if raw else {}


def deploy_problems(
    stack: str, runner_environment: str, egress_ip: str | None, root: Path = PROJECT_ROOT
) -> list[str]:
    """Why this job cannot deploy `stack` from this runner; empty when it can (or when it
    cannot be told from here)."""
    config = read_stack_file(stack, root).config
    environment = config.get("mlops-platform:environment", stack)
    cluster = ClusterConfig.model_validate(
        _section(config, "cluster"), context={"environment": environment}
    )
    problems: list[str] = []
    if cluster.enabled and runner_environment == GITHUB_HOSTED:
        problems += _unreachable_api(stack, cluster, egress_ip)
    certificate = _section(config, "app").get("exposure", {}).get("certificateArn")
    if certificate and _EXAMPLE_CERTIFICATE.search(str(certificate)):
        problems.append(
            f"Pulumi.{stack}.yaml: mlops-platform:app.exposure.certificateArn={certificate} is "
            "the example ARN; set it to the ACM certificate of your serving hostname (same "
            "region, status ISSUED)"
        )
    return problems


def _unreachable_api(stack: str, cluster: ClusterConfig, egress_ip: str | None) -> list[str]:
    if not cluster.endpoint_public_access:
        return [
            f"stack {stack}'s EKS API endpoint is private, and this job runs on a GitHub-hosted "
            "runner outside its VPC; set the repository variable "
            f"DEPLOY_RUNNER_LABELS_{stack.upper()} to the labels of a self-hosted runner with a "
            'network path into the VPC (e.g. ["self-hosted","mlops-' + stack + '"]); see the '
            "docs/operations.md, Deploying dev and prod for real"
        ]
    if not egress_ip:
        return []
    address = ipaddress.ip_address(egress_ip)
    if any(address in ipaddress.ip_network(cidr) for cidr in cluster.public_access_cidrs):
        return []
    return [
        f"this GitHub-hosted runner's address {egress_ip} is not in stack {stack}'s "
        f"cluster.publicAccessCidrs {cluster.public_access_cidrs}, so it cannot reach the EKS "
        f"API; set DEPLOY_RUNNER_LABELS_{stack.upper()} to a runner whose egress is listed "
        "there (a self-hosted runner, or a larger runner with static IPs)"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra_tools.ci.runner")
    parser.add_argument("--stack", required=True, help="stack the job is about to deploy")
    args = parser.parse_args(argv)
    try:
        problems = deploy_problems(
            args.stack,
            os.environ.get("RUNNER_ENVIRONMENT", ""),
            os.environ.get("RUNNER_EGRESS_IP") or None,
        )
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"::error::{problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
