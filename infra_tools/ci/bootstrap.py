"""`python -m infra_tools.ci.bootstrap --stack dev`: the `--target` URNs of a stack's first deploy.

A new stack's images need their ECR repository before the first push, and its serving
workloads need the images before they can become ready. So the deploy job's first `pulumi up`
creates only the repository (`--target URN --target-dependencies` adds its KMS key), pushes,
then deploys everything. The URNs come from the synthesized graph, so they are exactly the ones
the real program registers.
"""

from __future__ import annotations

import argparse
import sys

from infra_tools.synth import synthesize
from infra_tools.type_tokens import ECR_REPOSITORY

REPOSITORY = ECR_REPOSITORY


def bootstrap_targets(resources: list[dict[str, object]]) -> list[str]:
    """URNs of the image repositories: what must exist before the first image push."""
    return [str(r["urn"]) for r in resources if r.get("type") == REPOSITORY]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra_tools.ci.bootstrap")
    parser.add_argument("--stack", required=True, help="stack whose first deploy this is")
    args = parser.parse_args(argv)
    targets = bootstrap_targets(synthesize(args.stack).resources)
    if not targets:
        print(
            f"error: stack {args.stack} declares no image repository "
            "(modelStore.imageRepository is false); there is nothing to push images to",
            file=sys.stderr,
        )
        return 2
    for urn in targets:
        print(f"--target={urn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
