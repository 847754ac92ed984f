"""Reading `pulumi stack export`: the live resources by URN, with their physical ids, and the
image tag the deploy job rolls back to."""

from __future__ import annotations

from typing import Any

from infra_tools.ci.image_tag import deployed_tags
from infra_tools.state import output, physical_id, state_graph
from infra_tools.type_tokens import K8S_DEPLOYMENT, S3_BUCKET

URN = "urn:pulumi:dev::mlops-platform::aws:s3/bucket:Bucket::models"


def _export(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "deployment": {"manifest": {}, "resources": list(resources)}}


def _deployment(urn: str, image: str, **extra: Any) -> dict[str, Any]:
    pod = {"containers": [{"name": "server", "image": image}]}
    inputs = {"spec": {"template": {"spec": pod}}}
    return {"urn": urn, "type": K8S_DEPLOYMENT, "id": "serving/api", "inputs": inputs, **extra}


def test_a_replaced_resource_pending_deletion_is_not_the_deployed_one() -> None:
    old = {"urn": URN, "type": S3_BUCKET, "id": "models-old", "delete": True}
    live = {"urn": URN, "type": S3_BUCKET, "id": "models-new", "outputs": {"arn": "arn:new"}}
    graph = state_graph(_export(old, live))
    found = graph.by_urn(URN)
    assert physical_id(found) == "models-new"
    assert output(found, "arn") == "arn:new" and output(found, "bucket") is None


def test_an_export_of_a_stack_never_deployed_has_no_resources() -> None:
    assert state_graph({"version": 3, "deployment": {"manifest": {}}}).resources == []
    assert state_graph([1, 2]).resources == []


def test_the_image_tag_comes_from_the_live_deployment() -> None:
    urn = "urn:pulumi:dev::mlops-platform::kubernetes:apps/v1:Deployment::api"
    repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-dev/app"
    export = _export(
        _deployment(urn, f"{repository}:old", delete=True),
        _deployment(urn, f"{repository}:abc123"),
        _deployment(urn + "-sidecar", "docker.io/library/nginx:1.27"),
    )
    assert deployed_tags(export) == ["abc123"]
