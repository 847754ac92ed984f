"""The stack's AWS provider: every resource uses it explicitly, and it tags and authenticates
the way each environment needs."""

from __future__ import annotations

import pytest

from infra_tools.type_tokens import AWS_PREFIX, AWS_PROVIDER
from tests.infra.graph import Graph


def test_every_aws_resource_uses_the_stacks_explicit_provider(dev: Graph) -> None:
    provider = dev.one(AWS_PROVIDER)
    for resource in dev.resources:
        if resource["type"].startswith(AWS_PREFIX):
            assert resource["provider"] is not None, f"{resource['urn']} has no explicit provider"
            assert resource["provider"].startswith(provider["urn"] + "::"), resource["urn"]


def test_provider_tags_every_resource_with_owner_and_cost_center(prod: Graph) -> None:
    tags = prod.one(AWS_PROVIDER)["inputs"]["defaultTags"]["tags"]
    assert tags["environment"] == "prod"
    assert {"project", "environment", "owner", "cost-center"} <= tags.keys()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_aws_stacks_may_use_an_instance_profile_for_credentials(
    graphs: dict[str, Graph], stack: str
) -> None:
    """A self-hosted runner or an admin host on EC2 deploys with its instance profile; a
    provider that skips the metadata API check never asks IMDS for those credentials."""
    inputs = graphs[stack].one(AWS_PROVIDER)["inputs"]
    assert inputs.get("skipMetadataApiCheck") in (None, False, "false"), (
        f"stack {stack}: the AWS provider skips the metadata API (skipMetadataApiCheck="
        f"{inputs.get('skipMetadataApiCheck')!r}); only the local stack may"
    )
