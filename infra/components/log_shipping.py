"""Container logs off the nodes: Fluent Bit on every node writes to the stack's log group.

AWS's Fluent Bit chart, not the CloudWatch Observability add-on: the add-on also installs the
CloudWatch agent and Container Insights metrics (billed per metric) that Prometheus already
covers; Loki would add pods and an S3 store to run on a system pool that has no room for
them. A failed training run's logs are then in CloudWatch Logs the moment they are written, and
stay for `logs.retentionDays` after its GPU node is gone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.components import scheduling
from infra.components.helm import KUBE_SYSTEM, chart_values, pinned_release
from infra.components.iam import (
    ClusterOidc,
    ServiceAccountRole,
    ServiceAccountRoleArgs,
    Statement,
)
from infra.contracts import (
    GRAFANA_SERVICE_ACCOUNT,
    LOG_SHIPPER_SERVICE_ACCOUNT,
    MONITORING_NAMESPACE,
)

# Pinned: an upgrade is a reviewed change (chart version seen in public use, not checked
# against the chart repository from here).
FLUENT_BIT_CHART = ("https://aws.github.io/eks-charts", "aws-for-fluent-bit", "0.1.34")


@dataclass(frozen=True, kw_only=True)
class LogShippingArgs:
    region: str
    """Region of the log group."""
    log_group_name: pulumi.Input[str]
    """The stack's container log group (created with retention and KMS by LogStore)."""
    log_group_arn: pulumi.Input[str]
    """Its ARN: the shipper may write there, Grafana may read there, and nowhere else."""
    oidc: ClusterOidc
    """The cluster's IAM OIDC provider: the shipper's and the reader's roles trust it."""
    kubernetes_provider: k8s.Provider
    """Provider of the EKS cluster."""
    depends_on: Sequence[pulumi.Resource]
    """Node pools and cluster DNS: the DaemonSet's pods need both to become ready."""


def shipper_statements(group_arn: str) -> list[Statement]:
    """Fluent Bit: append to the stack's group; it may not create groups or read anything."""
    return [
        {"Sid": "WriteContainerLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": [group_arn, f"{group_arn}:log-stream:*"]},
    ]  # fmt: skip


def reader_statements(group_arn: str) -> list[Statement]:
    """Grafana: run Logs Insights queries on the stack's group; no writes."""
    return [
        {"Sid": "QueryContainerLogs", "Effect": "Allow",
         "Action": ["logs:StartQuery", "logs:GetLogEvents", "logs:FilterLogEvents",
                    "logs:GetLogGroupFields"],
         # Logs Insights authorizes on the group ARN with its `:*` suffix.
         "Resource": [group_arn, f"{group_arn}:*", f"{group_arn}:log-stream:*"]},
        # These take no resource: results are fetched by query id, groups listed by prefix.
        {"Sid": "ReadQueryResults", "Effect": "Allow",
         "Action": ["logs:GetQueryResults", "logs:StopQuery", "logs:DescribeLogGroups"],
         "Resource": ["*"]},
    ]  # fmt: skip


def _policy(statements: list[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class LogShipping(pulumi.ComponentResource):
    reader_role_arn: pulumi.Output[str]
    """Role Grafana's service account assumes to query the logs."""

    def __init__(
        self, name: str, args: LogShippingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:logs:LogShipping", name, None, opts)
        group_arn = pulumi.Output.from_input(args.log_group_arn)
        shipper = self._role(
            f"{name}-log-shipper",
            args,
            KUBE_SYSTEM,
            LOG_SHIPPER_SERVICE_ACCOUNT,
            group_arn.apply(lambda arn: _policy(shipper_statements(arn))),
        )
        reader = self._role(
            f"{name}-log-reader",
            args,
            MONITORING_NAMESPACE,
            GRAFANA_SERVICE_ACCOUNT,
            group_arn.apply(lambda arn: _policy(reader_statements(arn))),
        )
        pinned_release(
            f"{name}-fluent-bit",
            "aws-for-fluent-bit",
            FLUENT_BIT_CHART,
            pulumi.Output.all(args.log_group_name, shipper.role_arn).apply(
                lambda pair: chart_values(
                    "aws-for-fluent-bit",
                    {
                        "cloudWatchLogs": {"region": args.region, "logGroupName": pair[0]},
                        "serviceAccount": {
                            "create": True,
                            "name": LOG_SHIPPER_SERVICE_ACCOUNT,
                            "annotations": {scheduling.ROLE_ARN_ANNOTATION: pair[1]},
                        },
                        # Every node, GPU nodes included: a training run's logs matter most.
                        "tolerations": [{"operator": "Exists"}],
                    },
                )
            ),
            pulumi.ResourceOptions(
                parent=self,
                provider=args.kubernetes_provider,
                depends_on=list(args.depends_on),
            ),
        )
        self.reader_role_arn = reader.role_arn
        self.register_outputs({"readerRoleArn": self.reader_role_arn})

    def _role(
        self,
        name: str,
        args: LogShippingArgs,
        namespace: str,
        account: str,
        policy: pulumi.Input[str],
    ) -> ServiceAccountRole:
        return ServiceAccountRole(
            name,
            ServiceAccountRoleArgs(
                oidc=args.oidc,
                namespace=namespace,
                service_account=account,
                policy=policy,
                managed_policy_arns=(),
            ),
            pulumi.ResourceOptions(parent=self),
        )
