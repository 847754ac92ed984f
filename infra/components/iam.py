"""Least-privilege IAM: IAM roles bound to Kubernetes service accounts (IRSA) and their policies.

IRSA rather than EKS Pod Identity: each role's trust policy names the one
`system:serviceaccount:<namespace>:<name>` allowed to assume it, so the IAM side alone says
who can use a role (and the synthesized graph can be checked for it); it needs no agent
DaemonSet on every node (GPU nodes included), and every chart and add-on we use supports it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.scheduling import ROLE_ARN_ANNOTATION
from infra.contracts import (
    CAPTURE_PREFIX,
    DATASETS_PREFIX,
    HARVESTED_FOLDER,
    MLFLOW_ARTIFACT_PREFIX,
    SCORING_PREFIX,
)

Statement = dict[str, Any]

# s3:ListBucket on the whole bucket, with no s3:prefix condition: for a missing key S3 answers
# 404 only to a caller allowed to list the bucket, and a GetObject request carries no s3:prefix
# for a condition to match. With a prefix condition the first read of a model alias on an empty
# bucket is a 403, which the app must treat as "registry unavailable" instead of "none yet".
# Listing reveals key names, never content.
LIST_BUCKET = "ListBucket"


def policy_document(statements: Sequence[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def service_trust_policy(service: str) -> str:
    """Trust policy letting an AWS service (e.g. `eks.amazonaws.com`) assume the role."""
    return policy_document(
        [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    )


def irsa_trust_policy(
    oidc_provider_arn: str, oidc_issuer_url: str, namespace: str, service_account: str
) -> str:
    """Only the named service account, presenting an STS-audience token, may assume the role."""
    issuer = oidc_issuer_url.removeprefix("https://")
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ]
    )


def serving_statements(bucket_arn: str, key_arn: str) -> list[Statement]:
    """Model server: read `models/`, write prediction captures and labels to `captures/`
    (never read them back, never touch a model)."""
    return [
        {"Sid": "ReadModels", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"{bucket_arn}/models/*"]},
        {"Sid": "WriteCaptures", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": [f"{bucket_arn}/{CAPTURE_PREFIX}*"]},
        {"Sid": LIST_BUCKET, "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [bucket_arn]},
        # GenerateDataKey: a PutObject under the bucket's SSE-KMS default needs a data key.
        {"Sid": "UseModelKey", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [key_arn]},
    ]  # fmt: skip


def training_statements(bucket_arn: str, key_arn: str) -> list[Statement]:
    """Trainer (and the harvest, batch scoring and rollout decision, same service account):
    read `datasets/`, read and write `models/` (new versions, aliases), read `captures/` and
    write the labelled rows to a dataset's `captured/` folder (`data harvest`), nowhere else
    under `datasets/`; read inputs and write predictions under `scoring/` (`score`)."""
    return [
        {"Sid": "ReadDatasetsModelsAndCaptures", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"{bucket_arn}/{DATASETS_PREFIX}*", f"{bucket_arn}/models/*",
                      f"{bucket_arn}/{CAPTURE_PREFIX}*", f"{bucket_arn}/{SCORING_PREFIX}*"]},
        # The pipeline's steps read the dataset at the object versions `prepare` pinned: a GET
        # with a versionId is authorised as s3:GetObjectVersion, not s3:GetObject.
        {"Sid": "ReadPinnedDatasetVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersion"], "Resource": [f"{bucket_arn}/{DATASETS_PREFIX}*"]},
        {"Sid": "WriteModelsAndHarvests", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": [f"{bucket_arn}/models/*",
                      f"{bucket_arn}/{DATASETS_PREFIX}*/{HARVESTED_FOLDER}*",
                      f"{bucket_arn}/{SCORING_PREFIX}*"]},
        {"Sid": LIST_BUCKET, "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [bucket_arn]},
        {"Sid": "UseModelKey", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [key_arn]},
    ]  # fmt: skip


def dataset_events_statements(queue_arns: Sequence[str]) -> list[Statement]:
    """Retrain triggers (one account for every model's): receive and delete the models'
    dataset queues' messages, the two calls its
    consumer makes (DeleteMessageBatch is authorised by sqs:DeleteMessage); a deferred message
    is simply left to its visibility timeout, so no ChangeMessageVisibility. The queue uses
    SQS-managed encryption: no KMS permission. It never reads the bucket itself."""
    return [
        {"Sid": "ConsumeDatasetEvents", "Effect": "Allow",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": list(queue_arns)},
    ]  # fmt: skip


def tracking_statements(bucket_arn: str, key_arn: str, secret_arn: str) -> list[Statement]:
    """MLflow tracking server: its artifact store `mlflow/` and nothing else of the bucket, and
    the database's RDS-managed master secret (encrypted with the same key)."""
    artifacts = f"{bucket_arn}/{MLFLOW_ARTIFACT_PREFIX}*"
    return [
        {"Sid": "Artifacts", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": [artifacts]},
        # Listing is limited to the prefix: a missing artifact is then a 403, not a 404, which
        # MLflow reports as an error either way.
        {"Sid": "ListArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [bucket_arn],
         "Condition": {"StringLike": {"s3:prefix": [
             MLFLOW_ARTIFACT_PREFIX, f"{MLFLOW_ARTIFACT_PREFIX}*"]}}},
        {"Sid": "UseModelKey", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [key_arn]},
        {"Sid": "ReadDatabaseSecret", "Effect": "Allow",
         "Action": ["secretsmanager:GetSecretValue"], "Resource": [secret_arn]},
    ]  # fmt: skip


def autoscaler_statements(cluster_name: str) -> list[Statement]:
    """cluster-autoscaler: describe everything, but resize only this cluster's node groups."""
    return [
        {"Sid": "Describe", "Effect": "Allow", "Resource": ["*"], "Action": [
            "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
            "eks:DescribeNodegroup"]},
        # EKS tags every managed node group's Auto Scaling group with this key.
        {"Sid": "ResizeOwnNodeGroups", "Effect": "Allow", "Resource": ["*"],
         "Action": ["autoscaling:SetDesiredCapacity",
                    "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Condition": {"StringEquals": {
             f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}},
    ]  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ClusterOidc:
    """The cluster's IAM OIDC provider, which every IRSA role trusts."""

    provider_arn: pulumi.Input[str]
    """ARN of the IAM OIDC provider."""
    issuer_url: pulumi.Input[str]
    """The cluster's OIDC issuer URL (https://oidc.eks...)."""


@dataclass(frozen=True, kw_only=True)
class ServiceAccountRoleArgs:
    oidc: ClusterOidc
    """The cluster whose service account may assume the role."""
    namespace: str
    """Namespace of the service account allowed to assume the role."""
    service_account: str
    """Name of that service account."""
    policy: pulumi.Input[str] | None
    """Inline policy JSON; None: no inline policy."""
    managed_policy_arns: Sequence[str]
    """AWS-managed policies to attach (e.g. the EBS CSI driver's)."""


class ServiceAccountRole(pulumi.ComponentResource):
    """An IAM role that exactly one Kubernetes service account can assume (IRSA).

    The service account itself is created with the workload; give it `annotations`.
    """

    role_arn: pulumi.Output[str]
    annotations: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: ServiceAccountRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:iam:ServiceAccountRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        trust = pulumi.Output.all(args.oidc.provider_arn, args.oidc.issuer_url).apply(
            lambda pair: irsa_trust_policy(
                str(pair[0]), str(pair[1]), args.namespace, args.service_account
            )
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=trust,
            description=f"IRSA role of {args.namespace}/{args.service_account}",
            opts=child,
        )
        grants: list[pulumi.Output[str]] = []
        if args.policy is not None:
            policy = aws.iam.RolePolicy(
                f"{name}-policy", role=role.id, policy=args.policy, opts=child
            )
            grants.append(policy.id)
        for index, arn in enumerate(args.managed_policy_arns):
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-managed-{index}", role=role.name, policy_arn=arn, opts=child
            )
            grants.append(attachment.id)
        # The ARN is handed out once the role's permissions exist: a pod annotated with it
        # would otherwise start, find its role empty, fail its first calls and back off.
        self.role_arn = pulumi.Output.all(role.arn, *grants).apply(lambda values: str(values[0]))
        self.annotations = self.role_arn.apply(lambda arn: {ROLE_ARN_ANNOTATION: arn})
        self.register_outputs({"roleArn": self.role_arn})
