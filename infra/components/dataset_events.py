"""Retrain when new data lands: the model bucket notifies each model's SQS queue of new objects
under that model's dataset prefix.

One queue (and dead-letter queue) per model, because each model's retrain trigger
(`app/trigger/dataset_events.py`) consumes a whole queue: it deletes the messages of a batch
it started a retraining for and drops what is not its dataset, so a queue shared by two
triggers would lose one model's events to the other. Each polls its queue and starts one
retraining of its model per batch. A message it leaves undeleted (a training was already
running) comes back after the visibility timeout; one received `max_receive_count` times goes to the
dead-letter queue, where it stays for two weeks for a person to look at (docs/operations.md).

Both queues use SQS-managed encryption (SSE-SQS) rather than the store's KMS key: S3 can
deliver to an SSE-SQS queue with no key policy at all, whereas an SSE-KMS queue needs a key
policy granting `s3.amazonaws.com` GenerateDataKey and Decrypt on the key that also protects
every model (replacing the key's default policy on a protected prod key, where a mistake locks
the account out of it). The messages carry object keys and sizes, never object content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# Long enough for the trigger to ask the Kubernetes API for a Job and delete the batch; a
# deferred message comes back this often.
VISIBILITY_TIMEOUT_SECONDS = 300
# A long poll: the consumer's own WaitTimeSeconds wins, this covers any other reader.
RECEIVE_WAIT_SECONDS = 20
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
# The longest SQS allows: time to notice a message in the dead-letter queue and redrive it.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
CREATED_EVENTS = ["s3:ObjectCreated:*"]


@dataclass(frozen=True, kw_only=True)
class DatasetEventsArgs:
    bucket_id: pulumi.Input[str]
    """Name of the model bucket whose dataset objects are announced."""
    bucket_arn: pulumi.Input[str]
    """Its ARN: the only source the queue accepts messages from."""
    prefixes: Mapping[str, str]
    """Each model's dataset prefix (`datasets/<model>/`); its created objects are announced on
    that model's queue. No two may overlap (S3 refuses an ambiguous configuration)."""
    max_receive_count: int
    """Receives before a message moves to the dead-letter queue; the config derives it from
    the longest training, so a message deferred while one runs is not lost to the DLQ."""


def queue_policy(queue_arn: str, bucket_arn: str, account_id: str) -> str:
    """Only S3, on behalf of this one bucket in this account, may send to the queue."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowModelBucketNotifications",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": bucket_arn},
                        "StringEquals": {"aws:SourceAccount": account_id},
                    },
                }
            ],
        },
        sort_keys=True,
    )


class DatasetEvents(pulumi.ComponentResource):
    queue_urls: dict[str, pulumi.Output[str]]
    queue_arns: dict[str, pulumi.Output[str]]
    dead_letter_queue_urls: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: DatasetEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:storage:DatasetEvents", name, None, opts)
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        self.queue_urls, self.queue_arns, self.dead_letter_queue_urls = {}, {}, {}
        policies: list[pulumi.Resource] = []
        targets: list[aws.s3.BucketNotificationQueueArgs] = []
        for model, prefix in args.prefixes.items():
            queue, policy = self._queues(f"{name}-{model}", model, args, account_id)
            policies.append(policy)
            targets.append(
                aws.s3.BucketNotificationQueueArgs(
                    queue_arn=queue.arn, events=CREATED_EVENTS, filter_prefix=prefix
                )
            )
        # S3 sends a test message when the configuration is saved and rejects it ("Unable to
        # validate the following destination configurations") unless every queue already
        # lets it send: the policies come first. A bucket has one notification
        # configuration, and this resource owns all of it.
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=args.bucket_id,
            queues=targets,
            opts=pulumi.ResourceOptions(parent=self, depends_on=policies),
        )
        self.register_outputs(
            {
                "queueUrls": self.queue_urls,
                "queueArns": self.queue_arns,
                "deadLetterQueueUrls": self.dead_letter_queue_urls,
            }
        )

    def _queues(
        self, name: str, model: str, args: DatasetEventsArgs, account_id: pulumi.Output[str]
    ) -> tuple[aws.sqs.Queue, aws.sqs.QueuePolicy]:
        """A model's queue, its dead-letter queue, and the policy letting S3 send to it."""
        child = pulumi.ResourceOptions(parent=self)
        dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{name}-queue",
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_SECONDS,
            receive_wait_time_seconds=RECEIVE_WAIT_SECONDS,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            redrive_policy=dead_letters.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count},
                    sort_keys=True,
                )
            ),
            opts=child,
        )
        policy = aws.sqs.QueuePolicy(
            f"{name}-queue",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, args.bucket_arn, account_id).apply(
                lambda values: queue_policy(str(values[0]), str(values[1]), str(values[2]))
            ),
            opts=child,
        )
        self.queue_urls[model] = queue.url
        self.queue_arns[model] = queue.arn
        self.dead_letter_queue_urls[model] = dead_letters.url
        return queue, policy
