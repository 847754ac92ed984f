"""Least-privilege roles: what each identity may do, read from the synthesized policies."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from app.harvest import CAPTURED_FOLDER as HARVEST_FOLDER
from infra import contracts
from infra_tools.type_tokens import (
    IAM_ROLE,
    IAM_ROLE_POLICY,
    S3_BUCKET_NOTIFICATION,
    SQS_QUEUE,
)
from tests.infra.graph import Graph

STACKS = ["dev", "prod"]


def _role(graph: Graph, kind: str) -> dict[str, Any]:
    return graph.one(IAM_ROLE, f"mlops-{graph.stack}-{kind}-role")


def _statements(graph: Graph, kind: str) -> list[dict[str, Any]]:
    policy = graph.one(IAM_ROLE_POLICY, f"mlops-{graph.stack}-{kind}-policy")
    return json.loads(policy["inputs"]["policy"])["Statement"]


def _allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether an Allow statement covers `action` on `resource` (IAM wildcard matching)."""
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        if (
            statement["Effect"] == "Allow"
            and any(fnmatch.fnmatchcase(action, a) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


@pytest.mark.parametrize("stack", STACKS)
def test_serving_reads_models_but_cannot_write_them(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    bucket = graph.outputs["modelBucketArn"]
    statements = _statements(graph, "serving")
    assert _allows(statements, "s3:GetObject", f"{bucket}/models/iris/1/model.onnx")
    assert _allows(statements, "kms:Decrypt", graph.outputs["modelKeyArn"])
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl"):
        assert not _allows(statements, action, f"{bucket}/models/iris/1/model.onnx"), action
    assert not _allows(statements, "s3:GetObject", f"{bucket}/datasets/iris/train.csv")


@pytest.mark.parametrize("stack", STACKS)
def test_serving_writes_captures_and_nothing_else(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    bucket = graph.outputs["modelBucketArn"]
    statements = _statements(graph, "serving")
    assert _allows(statements, "s3:PutObject", f"{bucket}/{contracts.CAPTURE_PREFIX}2026/x.jsonl")
    # An SSE-KMS bucket needs a data key for every write.
    assert _allows(statements, "kms:GenerateDataKey", graph.outputs["modelKeyArn"])
    assert not _allows(statements, "s3:GetObject", f"{bucket}/{contracts.CAPTURE_PREFIX}x.jsonl")
    assert not _allows(statements, "s3:DeleteObject", f"{bucket}/{contracts.CAPTURE_PREFIX}x")


@pytest.mark.parametrize("stack", STACKS)
def test_training_reads_datasets_and_writes_models_only(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    bucket = graph.outputs["modelBucketArn"]
    statements = _statements(graph, "training")
    assert _allows(statements, "s3:GetObject", f"{bucket}/datasets/iris/train.csv")
    # Pipeline steps read the object versions prepare pinned (GET with versionId).
    assert _allows(statements, "s3:GetObjectVersion", f"{bucket}/datasets/iris/train.csv")
    assert not _allows(statements, "s3:GetObjectVersion", f"{bucket}/models/iris/1/model.onnx")
    assert _allows(statements, "s3:PutObject", f"{bucket}/models/iris/2/model.onnx")
    assert _allows(statements, "kms:GenerateDataKey", graph.outputs["modelKeyArn"])
    assert not _allows(statements, "s3:PutObject", f"{bucket}/datasets/iris/train.csv")
    assert not _allows(statements, "s3:DeleteObject", f"{bucket}/models/iris/1/model.onnx")


@pytest.mark.parametrize("stack", STACKS)
def test_training_account_harvests_captures_into_the_captured_folder_only(
    graphs: dict[str, Graph], stack: str
) -> None:
    """`data harvest` runs as the trainer: it reads the serving pods' captures and labels and
    writes create-only rows under `<dataset>/captured/`, never over the curated data."""
    graph = graphs[stack]
    bucket = graph.outputs["modelBucketArn"]
    statements = _statements(graph, "training")
    harvested = f"{bucket}/{contracts.DATASET_PREFIX}{HARVEST_FOLDER}date=2026-01-02.csv"
    prediction = f"{bucket}/{contracts.CAPTURE_PREFIX}iris/predictions/date=2026-01-02/a.jsonl"
    assert _allows(statements, "s3:GetObject", prediction)
    assert _allows(statements, "s3:PutObject", harvested)
    assert not _allows(statements, "s3:PutObject", f"{bucket}/{contracts.DATASET_PREFIX}x.csv")
    assert not _allows(statements, "s3:PutObject", prediction), "harvest must not forge captures"
    assert not _allows(statements, "s3:DeleteObject", harvested)


@pytest.mark.parametrize("stack", STACKS)
def test_triggers_consume_the_dataset_queues_and_touch_nothing_else(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    statements = _statements(graph, "retrain-trigger")
    queue_arns = _queue_arns(graph)
    assert len(queue_arns) == 2, "one per model"
    for queue_arn in queue_arns:
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
            assert _allows(statements, action, queue_arn), action
        assert not _allows(statements, "sqs:SendMessage", queue_arn), "it could forge new data"
        assert not _allows(statements, "sqs:PurgeQueue", queue_arn)
    for resource in (f"{graph.outputs['modelBucketArn']}/datasets/iris/x.csv",
                     graph.outputs["modelKeyArn"]):  # fmt: skip
        assert not any(_allows(statements, a, resource) for a in ("s3:GetObject", "kms:Decrypt"))
    arns = {r for s in statements for r in s["Resource"]}
    assert arns == queue_arns, arns


def _queue_arns(graph: Graph) -> set[str]:
    """The queues' ARNs as the notification names them (the one place the graph holds them)."""
    (notification,) = graph.of_type(S3_BUCKET_NOTIFICATION)
    for queue in graph.of_type(SQS_QUEUE):
        if queue["name"].endswith("-queue"):
            assert queue["urn"] in notification["dependencies"]
    return {str(target["queueArn"]) for target in notification["inputs"]["queues"]}


@pytest.mark.parametrize("stack", STACKS)
def test_no_policy_grants_wildcard_actions_on_bucket_or_key(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    for policy in graph.of_type(IAM_ROLE_POLICY):
        for statement in json.loads(policy["inputs"]["policy"])["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            for action in actions:
                assert action != "*" and not action.endswith(":*"), f"{policy['name']}: {action}"


@pytest.mark.parametrize(
    ("kind", "namespace", "account"),
    [
        ("serving", contracts.SERVING_NAMESPACE, contracts.SERVING_SERVICE_ACCOUNT),
        ("training", contracts.TRAINING_NAMESPACE, contracts.TRAINING_SERVICE_ACCOUNT),
        ("retrain-trigger", contracts.TRAINING_NAMESPACE, contracts.RETRAIN_TRIGGER),
        ("tracking", contracts.TRACKING_NAMESPACE, contracts.TRACKING_SERVER),
        ("cluster-autoscaler", "kube-system", "cluster-autoscaler"),
        ("ebs-csi", "kube-system", "ebs-csi-controller-sa"),
    ],
)
def test_each_role_trusts_exactly_its_service_account(
    prod: Graph, kind: str, namespace: str, account: str
) -> None:
    trust = json.loads(_role(prod, kind)["inputs"]["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    subjects = [v for k, v in conditions.items() if k.endswith(":sub")]
    audiences = [v for k, v in conditions.items() if k.endswith(":aud")]
    assert subjects == [f"system:serviceaccount:{namespace}:{account}"]
    assert audiences == ["sts.amazonaws.com"]


def test_autoscaler_may_resize_only_this_clusters_groups(prod: Graph) -> None:
    statements = _statements(prod, "cluster-autoscaler")
    resize = [s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert len(resize) == 1
    condition = resize[0]["Condition"]["StringEquals"]
    assert condition == {"aws:ResourceTag/k8s.io/cluster-autoscaler/mlops-prod": "owned"}


def _allows_without_condition_keys(
    statements: list[dict[str, Any]], action: str, resource: str
) -> bool:
    """Whether an unconditional Allow covers the call: a GetObject request context carries no
    s3:prefix, so a statement conditioned on it does not apply to that request."""
    return _allows([s for s in statements if not s.get("Condition")], action, resource)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind", ["serving", "training"])
def test_roles_see_a_missing_model_as_404_not_403(
    graphs: dict[str, Graph], stack: str, kind: str
) -> None:
    """S3 answers a GetObject of a missing key with 404 only when the caller may s3:ListBucket
    the bucket in that request's context; otherwise 403, and the first alias read on an empty
    bucket would look like an outage."""
    graph = graphs[stack]
    statements = _statements(graph, kind)
    assert _allows_without_condition_keys(
        statements, "s3:ListBucket", graph.outputs["modelBucketArn"]
    ), f"stack {stack}: the {kind} role needs s3:ListBucket on the bucket without a condition"


@pytest.mark.parametrize("stack", STACKS)
def test_an_annotated_service_account_waits_for_its_roles_permissions(
    graphs: dict[str, Graph], stack: str
) -> None:
    """A pod whose account names a role that has no policy yet fails its first AWS calls and
    backs off; the account is created only once the role's permissions exist."""
    graph = graphs[stack]
    accounts = [
        r
        for r in graph.of_type("kubernetes:core/v1:ServiceAccount")
        if "eks.amazonaws.com/role-arn" in str(r["inputs"].get("metadata", {}))
    ]
    assert accounts
    for account in accounts:
        deps = account["dependencies"]
        # Its own IRSA role (ServiceAccountRole `<x>`: role `<x>-role`, account `<x>-sa`).
        base = account["name"].removesuffix("-sa")
        assert any(d.endswith(f"::{base}-role") for d in deps), account["name"]
        grants = [d for d in deps if f"::{base}-policy" in d or f"::{base}-managed-" in d]
        assert grants, f"{account['name']} does not wait for its role's policy"
