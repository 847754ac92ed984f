"""`pulumi stack export | python -m infra_tools.ci.image_tag`: the app image tag now deployed.

The deploy job records it before `pulumi up`, so that a failed verification can redeploy
exactly what ran before. Works with every state backend (stack tags do not).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from infra_tools.inputs import as_list, mapping
from infra_tools.state import state_graph
from infra_tools.type_tokens import K8S_DEPLOYMENT


def deployed_tags(export: Any, repository_marker: str = ".dkr.ecr.") -> list[str]:
    """Tags of every ECR image the stack's Deployments run, in state order."""
    tags: list[str] = []
    for deployment in state_graph(export).of_type(K8S_DEPLOYMENT):
        pod = mapping(
            mapping(mapping(deployment["inputs"].get("spec")).get("template")).get("spec")
        )
        for container in as_list(pod.get("containers")):
            image = str(mapping(container).get("image", ""))
            if repository_marker in image and ":" in image.rsplit("/", 1)[-1]:
                tags.append(image.rsplit(":", 1)[-1])
    return tags


def main() -> int:
    try:
        export: Any = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        print(f"error: stdin is not `pulumi stack export` JSON ({exc.msg})", file=sys.stderr)
        return 2
    tags = deployed_tags(export)
    print(tags[0] if tags else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
