"""New data under a model's dataset notifies that model's queue, which its retrain trigger
consumes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.settings import Settings
from app.trigger.settings import TriggerSettings
from infra import contracts
from infra_tools.type_tokens import (
    S3_BUCKET,
    S3_BUCKET_NOTIFICATION,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
)
from tests.infra.graph import Graph

STACKS = ["dev", "prod", "local"]
CLUSTER_STACKS = ["dev", "prod"]
# What each stack file lists, with the prefix each model trains on (iris-classifier keeps the
# prefix its data has always had): the local stack lists none, so it serves iris-classifier
# on the app's default dataset.
LISTED = {"iris-classifier": "datasets/iris/", "wine-classifier": "datasets/wine-classifier/"}
DATASETS = {
    "dev": LISTED,
    "prod": LISTED,
    "local": {"iris-classifier": Settings().dataset_prefix},
}


def _queues(graph: Graph, model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the model's working queue, its dead-letter queue)."""
    prefix = f"mlops-{graph.stack}-dataset-events-{model}"
    return graph.one(SQS_QUEUE, f"{prefix}-queue"), graph.one(SQS_QUEUE, f"{prefix}-dlq")


def _notification(graph: Graph) -> dict[str, Any]:
    bucket = graph.one(S3_BUCKET, f"mlops-{graph.stack}-models")
    notifications = graph.attached(bucket, S3_BUCKET_NOTIFICATION, "bucket")
    # S3 keeps one notification configuration per bucket: a second resource would overwrite it.
    assert len(notifications) == 1, [n["name"] for n in notifications]
    assert len(graph.of_type(S3_BUCKET_NOTIFICATION)) == 1
    return notifications[0]


def _queue_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


@pytest.mark.parametrize("stack", STACKS)
def test_each_models_new_data_notifies_its_own_queue(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    notification = _notification(graph)
    targets = {t["filterPrefix"]: t for t in notification["inputs"]["queues"]}
    assert set(targets) == set(DATASETS[stack].values()), "one queue per model's dataset"
    for model, prefix in DATASETS[stack].items():
        queue, _ = _queues(graph, model)
        target = targets[prefix]
        assert target["events"] == ["s3:ObjectCreated:*"]
        url = graph.outputs["datasetQueueUrls"][model]
        assert target["queueArn"].endswith(":" + _queue_name(url)), (model, target)
        assert queue["urn"] in notification["dependencies"]


@pytest.mark.parametrize("stack", STACKS)
def test_notification_waits_for_every_queue_policy_on_a_first_deploy(
    graphs: dict[str, Graph], stack: str
) -> None:
    """S3 tests every destination when the configuration is saved and refuses it unless each
    queue already admits the bucket."""
    graph = graphs[stack]
    policies = graph.of_type(SQS_QUEUE_POLICY)
    assert len(policies) == len(DATASETS[stack])
    for policy in policies:
        assert policy["urn"] in _notification(graph)["dependencies"], policy["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_model_bucket_of_this_account_may_send(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    urls = set(graph.outputs["datasetQueueUrls"].values())
    for policy in graph.of_type(SQS_QUEUE_POLICY):
        [statement] = json.loads(policy["inputs"]["policy"])["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        bucket = {"aws:SourceArn": graph.outputs["modelBucketArn"]}
        assert statement["Condition"]["ArnEquals"] == bucket
        account = graph.outputs["modelKeyArn"].split(":")[4]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": account}
        assert policy["inputs"]["queueUrl"] in urls


@pytest.mark.parametrize("stack", STACKS)
def test_every_queue_is_encrypted_and_its_failures_end_in_its_dead_letter_queue(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    for model in DATASETS[stack]:
        queue, dead = _queues(graph, model)
        for each in (queue, dead):
            assert each["inputs"]["sqsManagedSseEnabled"] is True, each["name"]
        redrive = json.loads(queue["inputs"]["redrivePolicy"])
        dead_url = graph.outputs["datasetDeadLetterQueueUrls"][model]
        assert redrive["deadLetterTargetArn"].endswith(":" + _queue_name(dead_url)), model
        assert dead["urn"] in queue["dependencies"]
        # Dead letters outlive the working queue's messages, so nothing expires unseen.
        retention = queue["inputs"]["messageRetentionSeconds"]
        assert dead["inputs"]["messageRetentionSeconds"] > retention


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_a_message_deferred_during_the_longest_training_is_not_dead_lettered(
    graphs: dict[str, Graph], stack: str
) -> None:
    """The trigger leaves a batch undeleted while a training runs (and while its launcher's
    de-duplication window lasts): SQS hands it back every visibility timeout, and each hand
    back counts as a receive."""
    graph = graphs[stack]
    for model in DATASETS[stack]:
        queue, _ = _queues(graph, model)
        receives = json.loads(queue["inputs"]["redrivePolicy"])["maxReceiveCount"]
        cronjob = graph.manifest("CronJob", contracts.retrain_cronjob(model))
        deadline = cronjob["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
        window = TriggerSettings.model_fields["dedupe_window_seconds"].default
        survives = receives * queue["inputs"]["visibilityTimeoutSeconds"]
        assert survives >= deadline + window, (receives, deadline)
        # With the pipeline on Argo Workflows: one run going and the next waiting on its mutex.
        pipeline = graph.manifest("WorkflowTemplate", contracts.retrain_pipeline(model))["spec"]
        assert survives >= 2 * pipeline["activeDeadlineSeconds"] + window, receives
        assert receives <= 1000, "SQS refuses a maxReceiveCount above 1000"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_exports_the_queue_urls(graphs: dict[str, Graph], stack: str) -> None:
    outputs = graphs[stack].outputs
    urls, dead = outputs["datasetQueueUrls"], outputs["datasetDeadLetterQueueUrls"]
    assert set(urls) == set(dead) == set(DATASETS[stack])
    assert all(url.startswith("https://sqs.") for url in urls.values())
    assert not set(urls.values()) & set(dead.values())
    # The first model's under the single names `make up` reads.
    first = next(iter(DATASETS[stack]))
    assert outputs["datasetQueueUrl"] == urls[first]
    assert outputs["datasetDeadLetterQueueUrl"] == dead[first]


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_each_trigger_watches_its_models_queue_with_the_trigger_role(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    for model, prefix in DATASETS[stack].items():
        deployment = graph.manifest("Deployment", contracts.retrain_trigger(model))
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["MLOPS_TRIGGER_QUEUE_URL"] == graph.outputs["datasetQueueUrls"][model]
        assert env["MLOPS_TRIGGER_AWS_REGION"] == graph.outputs["region"]
        assert env["MLOPS_TRIGGER_DATASET_PREFIX"] == prefix
        assert env["MLOPS_TRIGGER_CRONJOB"] == contracts.retrain_cronjob(model)
        account = graph.manifest("ServiceAccount", spec["serviceAccountName"])
        role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert role.endswith(":role/mlops-" + stack + "-retrain-trigger-role"), role


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_each_trigger_may_reach_sqs_over_https(graphs: dict[str, Graph], stack: str) -> None:
    for model in DATASETS[stack]:
        policy = graphs[stack].manifest("NetworkPolicy", contracts.retrain_trigger(model))
        egress = policy["spec"]["egress"]
        https = [r for r in egress if {"port": 443, "protocol": "TCP"} in r.get("ports", [])]
        assert https and all("to" not in rule for rule in https), egress
