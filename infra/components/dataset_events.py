"""Retrain when new data lands: the model bucket notifies an SQS queue of new dataset objects.

The retrain trigger on the cluster (`app/trigger/dataset_events.py`) polls the queue and starts
one retraining per batch. A message it leaves undeleted (a training was already running) comes
back after the visibility timeout; one received `max_receive_count` times goes to the
dead-letter queue, where it stays for two weeks for a person to look at (docs/operations.md).

Both queues use SQS-managed encryption (SSE-SQS) rather than the store's KMS key: S3 can
deliver to an SSE-SQS queue with no key policy at all, whereas an SSE-KMS queue needs a key
policy granting `s3.amazonaws.com` GenerateDataKey and Decrypt on the key that also protects
every model (replacing the key's default policy on a protected prod key, where a mistake locks
the account out of it). The messages carry object keys and sizes, never object content.
"""

from __future__ import annotations

import json
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
    prefix: str
    """Key prefix whose created objects are announced (`datasets/`)."""
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
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatasetEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:storage:DatasetEvents", name, None, opts)
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
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        policy = aws.sqs.QueuePolicy(
            f"{name}-queue",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, args.bucket_arn, account_id).apply(
                lambda values: queue_policy(str(values[0]), str(values[1]), str(values[2]))
            ),
            opts=child,
        )
        # S3 sends a test message when the configuration is saved and rejects it ("Unable to
        # validate the following destination configurations") unless the queue already lets
        # it send: the policy comes first. A bucket has one notification configuration, and
        # this resource owns all of it.
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=args.bucket_id,
            queues=[
                aws.s3.BucketNotificationQueueArgs(
                    queue_arn=queue.arn, events=CREATED_EVENTS, filter_prefix=args.prefix
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.dead_letter_queue_url = dead_letters.url
        self.register_outputs(
            {
                "queueUrl": self.queue_url,
                "queueArn": self.queue_arn,
                "deadLetterQueueUrl": self.dead_letter_queue_url,
            }
        )
