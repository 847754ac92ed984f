"""Where the stack's logs live: one KMS key for every log group, and the container log group.

CloudWatch Logs encrypts a group with a customer-managed key only when the key policy lets
the regional Logs service use it, for that account's log groups; the key's default policy does
not, and associating it would fail. The container group is created here, with its retention
and key, before the shipper runs: a group the shipper auto-created would keep logs forever,
unencrypted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class LogStoreArgs:
    region: str
    """Region of the log groups (the Logs service principal is regional)."""
    retention_days: int
    """Days the container log group keeps events."""
    key_deletion_days: int
    """KMS key deletion waiting period."""


def log_key_policy(region: str, account_id: str, name: str) -> str:
    """The account administers the key; CloudWatch Logs may use it for this stack's groups only."""
    groups = [
        f"arn:aws:logs:{region}:{account_id}:log-group:/mlops-platform/{name}/*",
        f"arn:aws:logs:{region}:{account_id}:log-group:/aws/eks/{name}/cluster",
        # PostgreSQL logs of the stack's RDS instances (the tracking database).
        f"arn:aws:logs:{region}:{account_id}:log-group:/aws/rds/instance/{name}-*",
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "LogsEncryptsThisStacksGroups",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": groups},
                    },
                },
            ],
        },
        sort_keys=True,
    )


class LogStore(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    container_log_group: aws.cloudwatch.LogGroup

    def __init__(
        self, name: str, args: LogStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:logs:LogStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        key = aws.kms.Key(
            f"{name}-logs",
            description=f"{name}: encrypts the stack's CloudWatch log groups",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_days,
            policy=account_id.apply(lambda account: log_key_policy(args.region, account, name)),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-logs", name=f"alias/{name}-logs", target_key_id=key.key_id, opts=child
        )
        self.key_arn = key.arn
        self.container_log_group = aws.cloudwatch.LogGroup(
            f"{name}-containers",
            name=f"/mlops-platform/{name}/containers",
            retention_in_days=args.retention_days,
            kms_key_id=key.arn,
            opts=child,
        )
        self.register_outputs(
            {"logKeyArn": self.key_arn, "containerLogGroup": self.container_log_group.name}
        )
