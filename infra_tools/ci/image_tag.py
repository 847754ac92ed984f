"""`pulumi stack export | python -m infra_tools.ci.image_tag`: the app image tag now deployed.

The deploy job records it before `pulumi up`, so that a failed verification can redeploy
exactly what ran before. Works with every state backend (stack tags do not).
"""

from __future__ import annotations

import json
import sys
from typing import Any, cast

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def deployed_tags(export: dict[str, Any], repository_marker: str = ".dkr.ecr.") -> list[str]:
    """Tags of every ECR image the stack's Deployments run, in state order."""
    deployment = cast(dict[str, Any], export.get("deployment") or {})
    tags: list[str] = []
    for resource in cast(list[dict[str, Any]], deployment.get("resources") or []):
        if resource.get("type") != DEPLOYMENT:
            continue
        inputs = cast(dict[str, Any], resource.get("inputs") or {})
        spec = cast(dict[str, Any], inputs.get("spec") or {})
        template = cast(dict[str, Any], spec.get("template") or {})
        pod = cast(dict[str, Any], template.get("spec") or {})
        for container in cast(list[dict[str, Any]], pod.get("containers") or []):
            image = str(container.get("image", ""))
            if repository_marker in image and ":" in image.rsplit("/", 1)[-1]:
                tags.append(image.rsplit(":", 1)[-1])
    return tags


def main() -> int:
    try:
        export: Any = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        print(f"error: stdin is not `pulumi stack export` JSON ({exc.msg})", file=sys.stderr)
        return 2
    tags = deployed_tags(cast(dict[str, Any], export) if isinstance(export, dict) else {})
    print(tags[0] if tags else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
