"""The model bucket, its key and the image repository, per stack."""

from __future__ import annotations

import json

import pytest
import yaml

from infra import contracts
from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import (
    ECR_LIFECYCLE_POLICY,
    ECR_REPOSITORY,
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_ENCRYPTION,
    S3_BUCKET_LIFECYCLE,
    S3_BUCKET_LOGGING,
    S3_BUCKET_OWNERSHIP_CONTROLS,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_VERSIONING,
)
from tests.infra.graph import Graph


def _models_bucket(graph: Graph) -> dict:
    return graph.one(S3_BUCKET, f"mlops-{graph.stack}-models")


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_bucket_is_versioned_and_kms_encrypted_with_a_rotating_key(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    name = f"mlops-{stack}-models"
    versioning = graph.one(S3_BUCKET_VERSIONING, name)
    assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    sse = graph.one(
        S3_BUCKET_ENCRYPTION,
        name,
    )
    default = sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
    key = graph.one(KMS_KEY, f"mlops-{stack}-key")
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert key["inputs"]["enableKeyRotation"] is True


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_buckets_block_public_access_and_enforce_owner(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    buckets = graph.of_type(S3_BUCKET)
    blocks = graph.of_type(S3_BUCKET_PUBLIC_ACCESS_BLOCK)
    ownership = graph.of_type(S3_BUCKET_OWNERSHIP_CONTROLS)
    assert len(blocks) == len(buckets) == len(ownership)
    for block in blocks:
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert block["inputs"][flag] is True, f"{block['name']}: {flag}"
    for control in ownership:
        assert control["inputs"]["rule"]["objectOwnership"] == "BucketOwnerEnforced"


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_bucket_policies_deny_requests_without_tls(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    policies = graph.of_type(S3_BUCKET_POLICY)
    assert len(policies) == len(graph.of_type(S3_BUCKET))
    for policy in policies:
        statements = json.loads(policy["inputs"]["policy"])["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
            for s in statements
        ), policy["name"]


def test_noncurrent_versions_expire_after_the_configured_days(prod: Graph, dev: Graph) -> None:
    for graph, days in ((prod, 365), (dev, 7)):
        lifecycle = graph.one(
            S3_BUCKET_LIFECYCLE,
            f"mlops-{graph.stack}-models",
        )
        rule = lifecycle["inputs"]["rules"][0]
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == days
        assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] > 0


def test_captures_expire_after_the_configured_days_with_their_old_versions(
    prod: Graph, dev: Graph
) -> None:
    for graph in (prod, dev):
        document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{graph.stack}.yaml").read_text())
        days = document["config"]["mlops-platform:modelStore"]["captureRetentionDays"]
        lifecycle = graph.one(S3_BUCKET_LIFECYCLE, f"mlops-{graph.stack}-models")
        (rule,) = [
            r
            for r in lifecycle["inputs"]["rules"]
            if r["filter"].get("prefix") == contracts.CAPTURE_PREFIX
        ]
        assert rule["status"] == "Enabled"
        assert rule["expiration"]["days"] == days, graph.stack
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] >= 1


def test_prod_bucket_and_key_are_protected_and_retained(prod: Graph) -> None:
    for resource in (_models_bucket(prod), prod.one(KMS_KEY, "mlops-prod-key")):
        assert resource["options"]["protect"] is True, resource["name"]
        assert resource["options"]["retainOnDelete"] is True, resource["name"]
    assert _models_bucket(prod)["inputs"].get("forceDestroy") is not True


def test_prod_bucket_writes_access_logs(prod: Graph) -> None:
    logging = prod.one(S3_BUCKET_LOGGING)
    log_bucket = prod.one(S3_BUCKET, "mlops-prod-access-logs")
    assert log_bucket["urn"] in logging["dependencies"]
    assert _models_bucket(prod)["urn"] in logging["dependencies"]


def test_dev_bucket_may_be_force_destroyed(dev: Graph) -> None:
    assert _models_bucket(dev)["inputs"]["forceDestroy"] is True
    assert _models_bucket(dev)["options"]["protect"] is False


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_image_repository_is_immutable_scanned_and_kms_encrypted(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    repo = graph.one(ECR_REPOSITORY)["inputs"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    policy = json.loads(graph.one(ECR_LIFECYCLE_POLICY)["inputs"]["policy"])
    assert policy["rules"][0]["selection"]["countType"] == "imageCountMoreThan"
    assert "ecrRepositoryUrl" in graph.outputs


def test_local_stack_has_no_image_repository(local: Graph) -> None:
    assert local.of_type(ECR_REPOSITORY) == []
    assert "ecrRepositoryUrl" not in local.outputs
