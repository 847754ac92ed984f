"""VPC flow logs: every flow of the VPC into a retention-bounded log group (the stack's key)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def declare_flow_logs(
    network: pulumi.Resource,
    name: str,
    vpc: aws.ec2.Vpc,
    retention_days: int,
    key_arn: pulumi.Input[str] | None,
) -> None:
    """The group, the role the service writes with, and the flow log: children of `network`."""
    child = pulumi.ResourceOptions(parent=network)
    group = aws.cloudwatch.LogGroup(
        f"{name}-flow-logs",
        name=f"/mlops-platform/{name}/vpc-flow-logs",
        retention_in_days=retention_days,
        kms_key_id=key_arn,
        opts=child,
    )
    account_id = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(parent=network)
    ).account_id
    role = aws.iam.Role(
        f"{name}-flow-logs",
        assume_role_policy=account_id.apply(flow_logs_trust_policy),
        opts=child,
    )
    aws.iam.RolePolicy(
        f"{name}-flow-logs",
        role=role.id,
        policy=group.arn.apply(flow_logs_write_policy),
        opts=child,
    )
    aws.ec2.FlowLog(
        f"{name}-flow-logs",
        vpc_id=vpc.id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=group.arn,
        iam_role_arn=role.arn,
        opts=child,
    )


def flow_logs_trust_policy(account_id: str) -> str:
    """The flow-logs service may assume the role, only for this account's logs (confused-deputy
    guard)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )


def flow_logs_write_policy(group_arn: str) -> str:
    """Write to the flow-log group and nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    "Resource": [group_arn, f"{group_arn}:*"],
                }
            ],
        }
    )
