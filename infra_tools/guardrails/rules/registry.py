"""ECR: images scanned on push, tags immutable (a deployed SHA tag never changes meaning)."""

from __future__ import annotations

from collections.abc import Iterator

from infra_tools.graph import ResourceGraph
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import mapping, truthy
from infra_tools.type_tokens import ECR_REPOSITORY


def _scan_on_push(stack: ResourceGraph) -> Iterator[Finding]:
    for repository in stack.of_type(ECR_REPOSITORY):
        scanning = mapping(repository["inputs"].get("imageScanningConfiguration"))
        if not truthy(scanning.get("scanOnPush")):
            yield Finding(
                repository,
                f"{label(repository)} does not scan images on push; set "
                "image_scanning_configuration scan_on_push=True",
            )


def _immutable_tags(stack: ResourceGraph) -> Iterator[Finding]:
    for repository in stack.of_type(ECR_REPOSITORY):
        mutability = repository["inputs"].get("imageTagMutability", "MUTABLE")
        if not str(mutability).startswith("IMMUTABLE"):
            yield Finding(
                repository,
                f"{label(repository)} has mutable tags; set image_tag_mutability='IMMUTABLE'",
            )


RULES = (
    Rule(
        "ecr-scan-on-push", "ECR repositories scan every pushed image.", "mandatory", _scan_on_push
    ),
    Rule("ecr-immutable-tags", "ECR image tags are immutable.", "mandatory", _immutable_tags),
)
