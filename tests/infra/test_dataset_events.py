"""New data in the model bucket notifies the dataset queue, which the retrain trigger consumes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.settings import Settings
from app.trigger.settings import TriggerSettings
from infra_tools.type_tokens import (
    S3_BUCKET,
    S3_BUCKET_NOTIFICATION,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
)
from tests.infra.graph import Graph

STACKS = ["dev", "prod", "local"]
CLUSTER_STACKS = ["dev", "prod"]


def _queues(graph: Graph) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the working queue, its dead-letter queue), told apart by the redrive policy."""
    (queue,) = [q for q in graph.of_type(SQS_QUEUE) if q["inputs"].get("redrivePolicy")]
    (dead,) = [q for q in graph.of_type(SQS_QUEUE) if not q["inputs"].get("redrivePolicy")]
    return queue, dead


def _notification(graph: Graph) -> dict[str, Any]:
    bucket = graph.one(S3_BUCKET, f"mlops-{graph.stack}-models")
    notifications = graph.attached(bucket, S3_BUCKET_NOTIFICATION, "bucket")
    # S3 keeps one notification configuration per bucket: a second resource would overwrite it.
    assert len(notifications) == 1, [n["name"] for n in notifications]
    assert len(graph.of_type(S3_BUCKET_NOTIFICATION)) == 1
    return notifications[0]


@pytest.mark.parametrize("stack", STACKS)
def test_created_dataset_objects_notify_the_queue(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    queue, _ = _queues(graph)
    (target,) = _notification(graph)["inputs"]["queues"]
    assert target["events"] == ["s3:ObjectCreated:*"]
    # Every dataset the app may train on lies under the notified prefix.
    assert Settings().dataset_prefix.startswith(target["filterPrefix"]), target
    assert target["filterPrefix"] == "datasets/", "captures or models would start retrainings"
    assert target["queueArn"].endswith(":" + graph.outputs["datasetQueueUrl"].rsplit("/", 1)[1])
    assert queue["urn"] in _notification(graph)["dependencies"]


@pytest.mark.parametrize("stack", STACKS)
def test_notification_waits_for_the_queue_policy_on_a_first_deploy(
    graphs: dict[str, Graph], stack: str
) -> None:
    """S3 tests the destination when the configuration is saved and refuses it unless the
    queue already admits the bucket."""
    graph = graphs[stack]
    (policy,) = graph.of_type(SQS_QUEUE_POLICY)
    assert policy["urn"] in _notification(graph)["dependencies"]


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_model_bucket_of_this_account_may_send(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    (policy,) = graph.of_type(SQS_QUEUE_POLICY)
    [statement] = json.loads(policy["inputs"]["policy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": graph.outputs["modelBucketArn"]}
    account = graph.outputs["modelKeyArn"].split(":")[4]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": account}
    assert policy["inputs"]["queueUrl"] == graph.outputs["datasetQueueUrl"]


@pytest.mark.parametrize("stack", STACKS)
def test_both_queues_are_encrypted_and_failures_end_in_the_dead_letter_queue(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    queue, dead = _queues(graph)
    for each in (queue, dead):
        assert each["inputs"]["sqsManagedSseEnabled"] is True, each["name"]
    redrive = json.loads(queue["inputs"]["redrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(
        ":" + graph.outputs["datasetDeadLetterQueueUrl"].rsplit("/", 1)[1]
    )
    assert dead["urn"] in queue["dependencies"]
    # Dead letters outlive the working queue's messages, so nothing expires unseen.
    assert dead["inputs"]["messageRetentionSeconds"] > queue["inputs"]["messageRetentionSeconds"]


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_a_message_deferred_during_the_longest_training_is_not_dead_lettered(
    graphs: dict[str, Graph], stack: str
) -> None:
    """The trigger leaves a batch undeleted while a training runs (and while its launcher's
    de-duplication window lasts): SQS hands it back every visibility timeout, and each hand
    back counts as a receive."""
    graph = graphs[stack]
    queue, _ = _queues(graph)
    receives = json.loads(queue["inputs"]["redrivePolicy"])["maxReceiveCount"]
    cronjob = graph.manifest("CronJob", "retrain")
    deadline = cronjob["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    window = TriggerSettings.model_fields["dedupe_window_seconds"].default
    survives = receives * queue["inputs"]["visibilityTimeoutSeconds"]
    assert survives >= deadline + window, (receives, deadline)
    # With the pipeline on Argo Workflows: one run going and the next waiting on its mutex.
    pipeline = graph.manifest("WorkflowTemplate", "retrain-pipeline")["spec"]
    assert survives >= 2 * pipeline["activeDeadlineSeconds"] + window, receives
    assert receives <= 1000, "SQS refuses a maxReceiveCount above 1000"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_exports_the_queue_urls(graphs: dict[str, Graph], stack: str) -> None:
    outputs = graphs[stack].outputs
    assert outputs["datasetQueueUrl"].startswith("https://sqs.")
    assert outputs["datasetDeadLetterQueueUrl"] != outputs["datasetQueueUrl"]


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_trigger_watches_the_queue_with_its_own_role(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    deployment = graph.manifest("Deployment", "retrain-trigger")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MLOPS_TRIGGER_QUEUE_URL"] == graph.outputs["datasetQueueUrl"]
    assert env["MLOPS_TRIGGER_AWS_REGION"] == graph.outputs["region"]
    # The trigger and the trainers read one dataset: the app's own default.
    assert env["MLOPS_TRIGGER_DATASET_PREFIX"] == Settings().dataset_prefix
    account = graph.manifest("ServiceAccount", spec["serviceAccountName"])
    role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role.endswith(":role/mlops-" + stack + "-retrain-trigger-role"), role


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_trigger_may_reach_sqs_over_https(graphs: dict[str, Graph], stack: str) -> None:
    policy = graphs[stack].manifest("NetworkPolicy", "retrain-trigger")
    egress = policy["spec"]["egress"]
    https = [rule for rule in egress if {"port": 443, "protocol": "TCP"} in rule.get("ports", [])]
    assert https and all("to" not in rule for rule in https), egress
