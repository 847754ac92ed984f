"""Every AWS resource goes through the stack's provider, whose default tags label it."""

from __future__ import annotations

import pytest

from infra_tools.type_tokens import AWS_PREFIX, AWS_PROVIDER, EC2_LAUNCH_TEMPLATE
from tests.infra.graph import Graph

REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_aws_provider_default_tags_carry_the_required_tags(
    graphs: dict[str, Graph], stack: str
) -> None:
    provider = graphs[stack].one(AWS_PROVIDER)
    tags = provider["inputs"]["defaultTags"]["tags"]
    for key in REQUIRED_TAGS:
        assert tags.get(key), f"stack {stack}: default tag {key} missing"
    assert tags["environment"] == stack


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_aws_resource_uses_the_tagged_provider(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    provider = graph.one(AWS_PROVIDER)
    strays = [
        r["name"]
        for r in graph.resources
        if r["type"].startswith(AWS_PREFIX)
        and not (r["provider"] or "").startswith(provider["urn"])
    ]
    assert strays == [], f"stack {stack}: AWS resources without the stack's provider: {strays}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_instances_and_volumes_are_tagged(graphs: dict[str, Graph], stack: str) -> None:
    # Default tags stop at the launch template; instances and volumes need tag specifications.
    for template in graphs[stack].of_type(EC2_LAUNCH_TEMPLATE):
        specs = {s["resourceType"]: s["tags"] for s in template["inputs"]["tagSpecifications"]}
        for kind in ("instance", "volume"):
            for key in REQUIRED_TAGS:
                assert specs[kind].get(key), f"{template['name']}: {kind} tag {key} missing"
