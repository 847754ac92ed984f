"""Required tags on every taggable AWS resource, from provider default tags or its own tags."""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Iterator
from functools import cache

from infra_tools.graph import ResourceGraph
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import mapping
from infra_tools.type_tokens import AWS_PREFIX

REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")


@cache
def taggable(token: str) -> bool:
    """Whether the pulumi-aws resource `token` takes `tags` (read from the SDK itself)."""
    try:
        _, module_path, class_name = token.split(":", 2)
        module = module_path.split("/")[0]
        package = f"pulumi_aws.{module}" if module != "index" else "pulumi_aws"
        # Importing a service module also loads its deprecated aliases, which warn.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            cls = getattr(importlib.import_module(package), class_name)
    except (ValueError, ImportError, AttributeError):
        return False
    return "tags" in inspect.signature(cls._internal_init).parameters


def _required_tags(stack: ResourceGraph) -> Iterator[Finding]:
    for resource in stack.resources:
        if not resource["type"].startswith(AWS_PREFIX) or not taggable(resource["type"]):
            continue
        provider = stack.provider_of(resource)
        defaults = mapping(mapping(mapping(provider).get("inputs")).get("defaultTags")).get("tags")
        tags = {**mapping(defaults), **mapping(resource["inputs"].get("tags"))}
        missing = [key for key in REQUIRED_TAGS if not tags.get(key)]
        if missing:
            yield Finding(
                resource,
                f"{label(resource)} lacks tags {missing}; create it with the stack's AWS provider "
                "(its default_tags carry them) or set them in tags",
            )


RULES = (
    Rule(
        "required-tags",
        f"Taggable AWS resources carry {', '.join(REQUIRED_TAGS)}.",
        "mandatory",
        _required_tags,
    ),
)
