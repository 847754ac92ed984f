"""Hand-made graphs, one that breaks and one that satisfies each guardrail rule."""

from __future__ import annotations

import json
from typing import Any

from infra_tools.type_tokens import (
    AWS_PROVIDER,
    CLOUDWATCH_LOG_GROUP,
    EC2_INSTANCE,
    EC2_LAUNCH_TEMPLATE,
    EC2_SECURITY_GROUP,
    ECR_REPOSITORY,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    IAM_ROLE_POLICY,
    K8S_CRON_JOB,
    K8S_DEPLOYMENT,
    K8S_SERVICE,
    KMS_KEY,
    PROVIDER_PREFIX,
    RDS_INSTANCE,
    S3_BUCKET,
    S3_BUCKET_ENCRYPTION,
    S3_BUCKET_LOGGING,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_VERSIONING,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
)

Resource = dict[str, Any]
TAGS = {"project": "mlops-platform", "environment": "prod", "owner": "ml", "cost-center": "ml"}
PROVIDER_URN = "urn:pulumi:prod::mlops-platform::pulumi:providers:aws::aws"


def provider(tags: dict[str, str] | None = None) -> Resource:
    return make(AWS_PROVIDER, "aws", {"defaultTags": {"tags": TAGS if tags is None else tags}})


def make(token: str, name: str, inputs: dict[str, Any], deps: list[str] | None = None) -> Resource:
    return {
        "urn": f"urn:pulumi:prod::mlops-platform::{token}::{name}",
        "type": token,
        "name": name,
        "parent": None,
        "provider": None if token.startswith(PROVIDER_PREFIX) else f"{PROVIDER_URN}::pid",
        "dependencies": deps or [],
        "options": {},
        "inputs": inputs,
    }


def bucket_set(name: str = "models", **overrides: Any) -> list[Resource]:
    """A bucket with every companion resource a compliant bucket needs."""
    bucket = make(S3_BUCKET, name, {"bucket": name})
    ref = f"{name}-id"
    tls = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "Principal": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    }
    parts = {
        "versioning": make(
            S3_BUCKET_VERSIONING,
            name,
            {"bucket": ref, "versioningConfiguration": {"status": "Enabled"}},
        ),
        "encryption": make(
            S3_BUCKET_ENCRYPTION,
            name,
            {
                "bucket": ref,
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
            },
        ),
        "block": make(
            S3_BUCKET_PUBLIC_ACCESS_BLOCK,
            name,
            {
                "bucket": ref,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        ),
        "policy": make(S3_BUCKET_POLICY, name, {"bucket": ref, "policy": json.dumps(tls)}),
        "logging": make(S3_BUCKET_LOGGING, name, {"bucket": ref, "targetBucket": "logs"}),
    }
    parts.update(overrides)
    return [bucket, *[part for part in parts.values() if part is not None]]


def launch_template(**inputs: Any) -> Resource:
    base = {
        "metadataOptions": {"httpTokens": "required"},
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 50}}
        ],
    }
    return make(EC2_LAUNCH_TEMPLATE, "nodes", {**base, **inputs})


def instance(**inputs: Any) -> Resource:
    base = {
        "metadataOptions": {"httpTokens": "required"},
        "rootBlockDevice": {"encrypted": True, "volumeSize": 8},
    }
    # None drops a key, as the synthesized graph omits unset inputs.
    merged = {key: value for key, value in {**base, **inputs}.items() if value is not None}
    return make(EC2_INSTANCE, "nat", merged)


def cluster(**vpc: Any) -> Resource:
    return make(
        EKS_CLUSTER,
        "eks",
        {
            "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False, **vpc},
            "encryptionConfig": {
                "provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"},
                "resources": ["secrets"],
            },
            "enabledClusterLogTypes": ["api", "audit", "authenticator"],
        },
    )


def role_policy(*statements: dict[str, Any]) -> Resource:
    return make(
        IAM_ROLE_POLICY,
        "serving",
        {"policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})},
    )


def container(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "app",
        "image": "app:sha",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
    }
    return {**base, **overrides}


def deployment(*containers: dict[str, Any], **pod: Any) -> Resource:
    spec = {"containers": list(containers) or [container()], **pod}
    return make(
        K8S_DEPLOYMENT,
        "serving",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "serving"},
            "spec": {"selector": {"matchLabels": {"app": "s"}}, "template": {"spec": spec}},
        },
    )


def cron_job(*containers: dict[str, Any]) -> Resource:
    spec = {"containers": list(containers), "restartPolicy": "Never"}
    return make(
        K8S_CRON_JOB,
        "drift",
        {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}},
    )


def log_group(**inputs: Any) -> Resource:
    base = {"name": "/mlops-platform/x/containers", "retentionInDays": 90, "kmsKeyId": "key-arn"}
    return make(CLOUDWATCH_LOG_GROUP, "containers", {**base, **inputs})


def load_balancer(annotations: dict[str, str]) -> Resource:
    lb = "service.beta.kubernetes.io/aws-load-balancer"
    return make(
        K8S_SERVICE,
        "model-server-nlb",
        {
            "metadata": {
                "name": "model-server-nlb",
                "annotations": {f"{lb}-type": "nlb", **annotations},
            },
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        },
    )


def sg(port: int, cidr: str = "0.0.0.0/0") -> Resource:
    return make(
        EC2_SECURITY_GROUP,
        "admin",
        {"ingress": [{"protocol": "tcp", "fromPort": port, "toPort": port, "cidrBlocks": [cidr]}]},
    )


# rule name -> (graph that must fire, graph that must stay quiet), both with a tagged provider.
def _prefix_delegation_addon() -> Resource:
    config = {"env": {"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"}}
    return make(
        EKS_ADDON, "vpc-cni", {"addonName": "vpc-cni", "configurationValues": json.dumps(config)}
    )


def _node_group(deps: list[str]) -> Resource:
    return make(EKS_NODE_GROUP, "system-0", {"instanceTypes": ["t3.medium"]}, deps)


def database(**overrides: Any) -> Resource:
    """A compliant prod RDS instance, with `overrides` applied (None removes an input)."""
    inputs: dict[str, Any] = {
        "engine": "postgres",
        "storageEncrypted": True,
        "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/abc",
        "publiclyAccessible": False,
        "manageMasterUserPassword": True,
        "multiAz": True,
        "deletionProtection": True,
        "backupRetentionPeriod": 14,
        "skipFinalSnapshot": False,
    }
    inputs.update(overrides)
    return make(RDS_INSTANCE, "db", {k: v for k, v in inputs.items() if v is not None})


QUEUE_ARN = "arn:aws:sqs:us-east-1:111122223333:events"
DLQ_ARN = "arn:aws:sqs:us-east-1:111122223333:events-dlq"
BUCKET_ARN = "arn:aws:s3:::models"


def queue_set(*, encrypted: bool = True, redrive: bool = True) -> list[Resource]:
    """A working queue and its dead-letter queue (named, so the ARN can be matched)."""
    sse = {"sqsManagedSseEnabled": True} if encrypted else {}
    dlq = make(SQS_QUEUE, "events-dlq", {"name": "events-dlq", **sse})
    policy = {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 50}
    queue = make(
        SQS_QUEUE,
        "events",
        {"name": "events", **sse, **({"redrivePolicy": json.dumps(policy)} if redrive else {})},
    )
    return [dlq, queue]


def queue_policy(condition: dict[str, Any] | None) -> Resource:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE_ARN,
    }
    if condition is not None:
        statement["Condition"] = condition
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return make(SQS_QUEUE_POLICY, "events", {"queueUrl": "url", "policy": json.dumps(document)})


CASES: dict[str, tuple[list[Resource], list[Resource]]] = {
    "sqs-encrypted": (queue_set(encrypted=False), queue_set()),
    "sqs-dead-letter-queue": (queue_set(redrive=False), queue_set()),
    "sqs-policy-source-scoped": (
        [queue_policy(None), queue_policy({"StringEquals": {"aws:SourceAccount": "111122223333"}})],
        [
            queue_policy(
                {
                    "ArnEquals": {"aws:SourceArn": BUCKET_ARN},
                    "StringEquals": {"aws:SourceAccount": "111122223333"},
                }
            )
        ],
    ),
    "s3-versioning": (bucket_set(versioning=None), bucket_set()),
    "s3-kms-encryption": (
        bucket_set(
            encryption=make(
                S3_BUCKET_ENCRYPTION,
                "models",
                {
                    "bucket": "models-id",
                    "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
                },
            )
        ),
        bucket_set(),
    ),
    "s3-public-access-blocked": (
        bucket_set(
            block=make(
                S3_BUCKET_PUBLIC_ACCESS_BLOCK,
                "models",
                {"bucket": "models-id", "blockPublicAcls": True},
            )
        ),
        bucket_set(),
    ),
    "s3-tls-only": (bucket_set(policy=None), bucket_set()),
    "s3-access-logging-prod": (bucket_set(logging=None), bucket_set()),
    "kms-key-rotation": (
        [make(KMS_KEY, "key", {"enableKeyRotation": False})],
        [make(KMS_KEY, "key", {"enableKeyRotation": True})],
    ),
    "launch-template-imdsv2": (
        [launch_template(metadataOptions={"httpTokens": "optional"})],
        [launch_template()],
    ),
    "launch-template-encrypted-volumes": (
        [launch_template(blockDeviceMappings=[{"ebs": {"encrypted": "false"}}])],
        [launch_template()],
    ),
    "instance-imdsv2": (
        [instance(metadataOptions={"httpTokens": "optional"}), instance(metadataOptions=None)],
        # Launched from a template: the template's own rule decides.
        [instance(), instance(metadataOptions=None, launchTemplate={"id": "lt-1"})],
    ),
    "instance-encrypted-volumes": (
        [
            instance(rootBlockDevice={"volumeSize": 8}),
            instance(ebsBlockDevices=[{"deviceName": "/dev/sdf", "encrypted": False}]),
        ],
        [instance(ebsBlockDevices=[{"deviceName": "/dev/sdf", "encrypted": True}])],
    ),
    "nodes-no-public-ip": (
        [launch_template(networkInterfaces=[{"associatePublicIpAddress": "true"}])],
        [launch_template(networkInterfaces=[{"associatePublicIpAddress": "false"}])],
    ),
    "no-admin-port-open-to-world": ([sg(22)], [sg(22, "10.0.0.0/16"), sg(443)]),
    "eks-private-endpoint-prod": (
        [cluster(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"])],
        [cluster()],
    ),
    "eks-secrets-encryption": (
        [{**cluster(), "inputs": {**cluster()["inputs"], "encryptionConfig": {}}}],
        [cluster()],
    ),
    "eks-control-plane-logging-prod": (
        [{**cluster(), "inputs": {**cluster()["inputs"], "enabledClusterLogTypes": ["api"]}}],
        [cluster()],
    ),
    "iam-no-wildcard-actions": (
        [role_policy({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::models/*"})],
        [
            role_policy(
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::models/*"}
            )
        ],
    ),
    "iam-no-wildcard-data-resources": (
        [role_policy({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"})],
        [role_policy({"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"})],
    ),
    "ecr-scan-on-push": (
        [make(ECR_REPOSITORY, "app", {"imageTagMutability": "IMMUTABLE"})],
        [
            make(
                ECR_REPOSITORY,
                "app",
                {
                    "imageTagMutability": "IMMUTABLE",
                    "imageScanningConfiguration": {"scanOnPush": True},
                },
            )
        ],
    ),
    "ecr-immutable-tags": (
        [make(ECR_REPOSITORY, "app", {"imageTagMutability": "MUTABLE"})],
        [make(ECR_REPOSITORY, "app", {"imageTagMutability": "IMMUTABLE"})],
    ),
    "k8s-non-root": ([deployment(container(securityContext={"runAsUser": 0}))], [deployment()]),
    "k8s-no-privileged": (
        [deployment(container(securityContext={"runAsNonRoot": True, "privileged": True}))],
        [deployment()],
    ),
    "k8s-no-privilege-escalation": (
        [deployment(container(securityContext={"runAsNonRoot": True}))],
        [deployment()],
    ),
    "k8s-resources-set": ([cron_job(container(resources={}))], [cron_job(container())]),
    "k8s-probes-set": (
        [deployment(container(livenessProbe=None))],
        [deployment(), cron_job(container(readinessProbe=None, livenessProbe=None))],
    ),
    "required-tags": (
        [make(KMS_KEY, "key", {"enableKeyRotation": True, "tags": {"owner": ""}})],
        [make(KMS_KEY, "key", {"enableKeyRotation": True})],
    ),
    "log-group-retention-kms": (
        [log_group(retentionInDays=None), log_group(kmsKeyId=None)],
        [log_group()],
    ),
    "nodes-after-prefix-delegation": (
        [_prefix_delegation_addon(), _node_group([])],
        [_prefix_delegation_addon(), _node_group([_prefix_delegation_addon()["urn"]])],
    ),
    "rds-customer-key-encryption": (
        [
            database(storageEncrypted=False),
            database(kmsKeyId=None),
            database(kmsKeyId="arn:aws:kms:us-east-1:111122223333:alias/aws/rds"),
        ],
        [database()],
    ),
    "rds-not-public": ([database(publiclyAccessible=True)], [database()]),
    "rds-managed-password": (
        [
            database(manageMasterUserPassword=None, password="hunter2-hunter2"),
            database(manageMasterUserPassword=False),
        ],
        [database()],
    ),
    "rds-prod-resilience": (
        [
            database(multiAz=False),
            database(deletionProtection=False),
            database(backupRetentionPeriod=1),
            database(skipFinalSnapshot=True),
        ],
        [database()],
    ),
    "prod-load-balancer-tls": (
        [load_balancer({})],
        [
            load_balancer({"service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn"}),
            load_balancer({"mlops-platform/plain-http-accepted": "true"}),
        ],
    ),
}
