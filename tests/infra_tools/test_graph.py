"""The graph query API every tool shares: lookups that name what they did not find, and the
relations (attached, dependents, provider) the rules and verify rely on."""

from __future__ import annotations

import json

import pytest

from infra_tools.graph import ResourceGraph, ResourceLookupError
from infra_tools.policy_documents import denies_plain_http, policy_document
from infra_tools.type_tokens import (
    HELM_RELEASE,
    K8S_NAMESPACE,
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_POLICY,
    S3_BUCKET_VERSIONING,
)
from tests.infra_tools.guardrails.cases import make, provider


def _namespace(name: str) -> dict[str, object]:
    return make(
        K8S_NAMESPACE, name, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )


def test_one_names_the_stack_the_type_and_what_it_found() -> None:
    graph = ResourceGraph([make(S3_BUCKET, "a", {}), make(S3_BUCKET, "b", {})], stack="dev")
    wanted = r"stack dev: expected one aws:s3/bucket:Bucket, found \['a', 'b'\]"
    with pytest.raises(ResourceLookupError, match=wanted):
        graph.one(S3_BUCKET)
    assert graph.one(S3_BUCKET, "b")["name"] == "b"


def test_by_urn_raises_for_an_unknown_urn_and_get_answers_none() -> None:
    bucket = make(S3_BUCKET, "a", {})
    graph = ResourceGraph([bucket], stack="prod")
    assert graph.by_urn(bucket["urn"]) is bucket
    assert graph.get("urn:nope") is None and graph.get(None) is None
    with pytest.raises(ResourceLookupError, match="stack prod: no resource with urn urn:nope"):
        graph.by_urn("urn:nope")


def test_a_resource_finds_its_provider_through_the_provider_reference() -> None:
    aws, bucket = provider(), make(S3_BUCKET, "a", {})
    graph = ResourceGraph([aws, bucket])
    assert graph.provider_of(bucket) is aws
    assert graph.aws_provider() is aws
    assert graph.default_tags()["cost-center"] == "ml"


def test_an_environment_the_provider_does_not_tag_counts_as_prod() -> None:
    assert ResourceGraph([provider({"environment": "dev"})]).environment() == "dev"
    assert ResourceGraph([provider({})]).environment() == "prod"
    with pytest.raises(ResourceLookupError, match="declares no AWS provider"):
        ResourceGraph([]).aws_provider()


def test_attached_follows_the_id_input_or_the_dependency_when_the_id_is_unknown() -> None:
    bucket = make(S3_BUCKET, "models", {"bucket": "models"})
    by_id = make(S3_BUCKET_VERSIONING, "by-id", {"bucket": "models-id"})
    by_dependency = make(S3_BUCKET_VERSIONING, "by-dependency", {}, deps=[bucket["urn"]])
    elsewhere = make(S3_BUCKET_VERSIONING, "elsewhere", {"bucket": "other"})
    graph = ResourceGraph([bucket, by_id, by_dependency, elsewhere])
    found = graph.attached(bucket, S3_BUCKET_VERSIONING, "bucket")
    assert [r["name"] for r in found] == ["by-id", "by-dependency"]


def test_dependents_and_the_one_dependency_of_a_type() -> None:
    key = make(KMS_KEY, "key", {})
    bucket = make(S3_BUCKET, "b", {}, deps=[key["urn"]])
    policy = make(S3_BUCKET_POLICY, "p", {}, deps=[bucket["urn"]])
    graph = ResourceGraph([key, bucket, policy])
    assert graph.dependents(bucket, S3_BUCKET_POLICY) == [policy]
    assert graph.dependency(bucket, KMS_KEY) is key
    assert graph.dependency(policy, KMS_KEY) is None


def test_manifests_are_the_kubernetes_api_objects_only() -> None:
    release = make(HELM_RELEASE, "chart", {"apiVersion": "x", "kind": "Release"})
    graph = ResourceGraph([_namespace("serving"), _namespace("training"), release], stack="dev")
    assert [m["metadata"]["name"] for m in graph.manifests()] == ["serving", "training"]
    assert graph.manifest("Namespace", "training")["kind"] == "Namespace"
    with pytest.raises(ResourceLookupError, match="stack dev: expected one Namespace x, found 0"):
        graph.manifest("Namespace", "x")


def test_policy_documents_read_as_text_or_object_and_unknown_is_none() -> None:
    deny = {
        "Statement": {
            "Effect": "Deny",
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    }
    assert denies_plain_http(policy_document(deny))
    assert denies_plain_http(policy_document(json.dumps({"Statement": [deny["Statement"]]})))
    assert policy_document("not json") is None and policy_document(None) is None
    assert not denies_plain_http(None)
