"""`python -m infra_tools.ci.bootstrap --stack dev`: the `--target` URNs of a stack's first deploy.

A new stack's images (serving, training and the tracking server, all tags of the one app
repository) need their ECR repository before the first push, and its workloads (the model
server, the tracking server) need the images before they can become ready. So the deploy
job's first `pulumi up` creates only the repository, pushes, then deploys everything.
`pulumi up --target` creates only what it names and refuses a target whose dependencies,
parent component or provider are neither named nor deployed; so the targets are the
repository's whole closure (its KMS key, the ModelStore component, the AWS provider), taken
from the synthesized graph.
"""

from __future__ import annotations

import argparse
import sys
from typing import cast

from infra_tools.synth import synthesize
from infra_tools.type_tokens import ECR_REPOSITORY

REPOSITORY = ECR_REPOSITORY
# Under the mock runtime the stack's direct children are recorded with the root stack's type
# in their URN; a real deploy leaves the root out of every URN's type chain.
_MOCK_ROOT = "pulumi:pulumi:Stack$"


def deployed_urn(urn: str) -> str:
    """The URN a real `pulumi up` gives the resource recorded under `urn`."""
    return urn.replace(_MOCK_ROOT, "")


def bootstrap_targets(resources: list[dict[str, object]]) -> list[str]:
    """URNs of the image repositories and everything they need to be created first, in the
    order the program registers them."""
    by_urn = {deployed_urn(str(r["urn"])): r for r in resources}
    wanted: set[str] = set()
    pending = [urn for urn, r in by_urn.items() if r.get("type") == REPOSITORY]
    while pending:
        urn = pending.pop()
        if urn in wanted or urn not in by_urn:
            continue  # the stack itself, or already taken
        wanted.add(urn)
        resource = by_urn[urn]
        needs = [str(d) for d in cast(list[object], resource.get("dependencies") or [])]
        if resource.get("parent"):
            needs.append(str(resource["parent"]))
        if resource.get("provider"):
            # A provider reference is `<provider urn>::<provider id>`.
            needs.append(str(resource["provider"]).rsplit("::", 1)[0])
        pending += [deployed_urn(need) for need in needs]
    return [urn for urn in by_urn if urn in wanted]


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
