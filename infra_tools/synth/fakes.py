"""Deterministic stand-ins for what AWS and Kubernetes would answer, so synth needs no cloud.

Resources echo their inputs back plus the computed attributes other resources read
(ARNs, ids, endpoints); invokes return fixed, plausible answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pulumi

from infra_tools.type_tokens import (
    CLOUDWATCH_LOG_GROUP,
    EC2_INSTANCE,
    EC2_LAUNCH_TEMPLATE,
    ECR_REPOSITORY,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    IAM_OIDC_PROVIDER,
    IAM_POLICY,
    IAM_ROLE,
    KMS_KEY,
    RANDOM_PASSWORD,
    RDS_INSTANCE,
    S3_BUCKET,
    SQS_QUEUE,
)

ACCOUNT_ID = "123456789012"
FAKE_REGION = "us-east-1"
ZONES = ["a", "b", "c", "d", "e", "f"]


def _service_of(type_token: str) -> str:
    # S3_BUCKET -> "s3"
    return type_token.split(":")[1].split("/")[0]


def _computed(type_token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Attributes AWS computes on create that the program reads back."""
    service = _service_of(type_token)
    arn = f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{type_token.rsplit(':', 1)[-1].lower()}/{name}"
    computed: dict[str, Any] = {"arn": arn}
    for key in ("name", "bucket", "functionName", "repositoryName", "clusterName"):
        if key in inputs:
            break
    else:
        computed["name"] = name
    return computed


def _bucket(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{name}-0000000"
    return {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
    }


def _ecr_repository(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    repository = inputs.get("name", name)
    return {
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{repository}",
        "registryId": ACCOUNT_ID,
    }


def _eks_cluster(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    cluster = inputs.get("name", name)
    return {
        "name": cluster,
        "endpoint": f"https://{cluster.upper()}0000.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": "LS0tLS1GQUtFLUNBLS0tLS0="},
        "identities": [
            {
                "oidcs": [
                    {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/FAKE{cluster.upper()}"}
                ]
            }
        ],
        "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{name}"},
        "status": "ACTIVE",
    }


def _iam_role(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    role = inputs.get("name", name)
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role}", "name": role}


def _iam_policy(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    policy = inputs.get("name", name)
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{policy}", "name": policy}


def _kms_key(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    digest = hashlib.sha256(name.encode()).hexdigest()
    key_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {"arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}", "keyId": key_id}


def _oidc_provider(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    url = str(inputs.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{url}"}


def _eks_node_group(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # EKS creates one Auto Scaling group per managed node group.
    return {"resources": [{"autoscalingGroups": [{"name": f"eks-{name}-asg"}]}]}


def _log_group(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # The provider strips the API's trailing `:*` from a log group's ARN.
    group = inputs.get("name", name)
    return {"arn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}", "name": group}


def _launch_template(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"latestVersion": 1}


def _ec2_instance(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # Routes to a NAT instance point at its primary network interface.
    return {"primaryNetworkInterfaceId": f"eni-{name}", "privateIp": "10.0.0.10"}


def _rds_instance(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    instance = inputs.get("identifier", name)
    port = 5432 if inputs.get("engine") == "postgres" else 3306
    computed: dict[str, Any] = {
        "address": f"{instance}.c0ffee000000.{region}.rds.amazonaws.com",
        "port": port,
        "endpoint": f"{instance}.c0ffee000000.{region}.rds.amazonaws.com:{port}",
    }
    if inputs.get("manageMasterUserPassword"):
        # RDS names the secret it manages `rds!db-<resource id>`.
        secret = f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:rds!db-{instance}-AbCdEf"
        computed["masterUserSecrets"] = [
            {
                "secretArn": secret,
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                "secretStatus": "active",
            }
        ]
    return computed


def _sqs_queue(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    queue = inputs.get("name") or f"{name}-0000000"
    return {
        "arn": f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{queue}",
        "name": queue,
        "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{queue}",
    }


def _random_password(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # Deterministic, so two syntheses agree; the SDK marks `result` secret, so it never shows.
    length = int(inputs.get("length", 16))
    digest = hashlib.sha256(f"fake-password:{name}".encode()).hexdigest()
    return {"result": (digest * (length // len(digest) + 1))[:length]}


_SPECIAL: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    S3_BUCKET: _bucket,
    ECR_REPOSITORY: _ecr_repository,
    EKS_CLUSTER: _eks_cluster,
    IAM_ROLE: _iam_role,
    IAM_POLICY: _iam_policy,
    KMS_KEY: _kms_key,
    IAM_OIDC_PROVIDER: _oidc_provider,
    EKS_NODE_GROUP: _eks_node_group,
    EC2_LAUNCH_TEMPLATE: _launch_template,
    EC2_INSTANCE: _ec2_instance,
    CLOUDWATCH_LOG_GROUP: _log_group,
    RDS_INSTANCE: _rds_instance,
    RANDOM_PASSWORD: _random_password,
    SQS_QUEUE: _sqs_queue,
}


def _zones(region: str) -> dict[str, Any]:
    return {
        "names": [f"{region}{zone}" for zone in ZONES],
        "zoneIds": [f"use1-az{index + 1}" for index in range(len(ZONES))],
        "id": region,
    }


_INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _, region: _zones(region),
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _, __: {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/synth",
        "userId": "SYNTH",
        "id": ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": lambda _, __: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
    },
    "aws:index/getRegion:getRegion": lambda _, region: {
        "name": region,
        "region": region,
        "id": region,
    },
    "aws:ssm/getParameter:getParameter": lambda args, _: {
        "name": args.get("name", ""),
        "value": "ami-0123456789abcdef0",
        "type": "String",
        "id": args.get("name", ""),
    },
    "aws:ec2/getAmi:getAmi": lambda _, __: {
        "id": "ami-0123456789abcdef0",
        "imageId": "ami-0123456789abcdef0",
    },
    # helm.v3.Chart renders through this invoke; offline there is no chart to render.
    "kubernetes:helm:template": lambda _, __: {"result": []},
}


class FakeCloud(pulumi.runtime.Mocks):
    """Answers resource creation and invokes with deterministic fakes."""

    def __init__(self, region: str = FAKE_REGION) -> None:
        self.region = region

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs: dict[str, Any] = dict(args.inputs)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        state = {**_computed(args.typ, args.name, inputs, self.region), **inputs}
        if args.typ in _SPECIAL:
            state.update(_SPECIAL[args.typ](args.name, inputs, self.region))
        return f"{args.name}-id", state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = _INVOKES.get(args.token)
        if answer is None:
            raise NotImplementedError(
                f"synth has no fake answer for invoke {args.token}; "
                "add one to infra_tools/synth/fakes.py"
            )
        arguments: dict[str, Any] = dict(args.args)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        # An empty failure list, not None: the SDK's mock monitor iterates over it.
        return answer(arguments, self.region), []
