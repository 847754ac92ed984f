"""Creates a stack's declared storage and network resources with boto3, the way `pulumi up`
would name and tag them, so verify can be tested against the embedded AWS without the CLI.

It records what it created the way the engine does: the stack outputs, and a
`pulumi stack export` whose resources carry each declared URN with the physical id.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.type_tokens import (
    EC2_NAT_GATEWAY,
    EC2_SUBNET,
    EC2_VPC,
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_ENCRYPTION,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_VERSIONING,
)
from infra_tools.verify import Target, target_for
from tests.conftest import EmbeddedAws

OFFLINE_BUCKET_SUFFIX = "-0000000"  # what synth's fakes call an auto-named bucket


@dataclass
class Deployment:
    """What a deploy leaves behind: stack outputs and the engine's state."""

    outputs: dict[str, Any] = field(default_factory=dict[str, Any])
    resources: list[Resource] = field(default_factory=list[Resource])

    def record(self, declared: Resource, physical_id: str, **outputs: Any) -> None:
        """Record `declared` as deployed, the way the engine writes it into the state."""
        keys = ("urn", "type", "parent", "provider", "dependencies", "inputs")
        entry = {key: declared.get(key) for key in keys}
        self.resources.append({**entry, "custom": True, "id": physical_id, "outputs": outputs})

    def export(self) -> dict[str, Any]:
        """The state as `pulumi stack export` prints it."""
        manifest = {"time": "2025-06-01T00:00:00Z", "magic": "test", "version": "v3"}
        return {"version": 3, "deployment": {"manifest": manifest, "resources": self.resources}}


def isolated_target(declared: ResourceGraph, aws: EmbeddedAws) -> Target:
    """Where `declared` lives on the embedded AWS, with an extra `verify-run` tag: tests that
    share one LocalStack never see each other's resources."""
    target = target_for(declared, aws.endpoint_url)
    return dataclasses.replace(target, tags={**target.tags, "verify-run": uuid.uuid4().hex})


def deploy(
    declared: ResourceGraph,
    aws: EmbeddedAws,
    tags: dict[str, str],
    bucket_names: dict[str, str] | None = None,
) -> Deployment:
    """Create every declared bucket, key, VPC, subnet and NAT gateway.

    `bucket_names` (logical name -> physical name) overrides Pulumi's auto-naming.
    """
    deployment = Deployment()
    keys = _keys(declared, aws, tags, deployment)
    _buckets(declared, aws, tags, keys, deployment, bucket_names or {})
    _network(declared, aws, tags, deployment)
    return deployment


def _tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[Any]:
    return [{key: k, value: v} for k, v in tags.items()]


def _keys(
    declared: ResourceGraph, aws: EmbeddedAws, tags: dict[str, str], deployment: Deployment
) -> dict[str, str]:
    kms = aws.client("kms")
    arns: dict[str, str] = {}
    for key in declared.of_type(KMS_KEY):
        created = kms.create_key(
            Description=key["inputs"].get("description", ""),
            Tags=_tag_list(tags, "TagKey", "TagValue"),
        )["KeyMetadata"]
        if key["inputs"].get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=created["KeyId"])
        arns[key["urn"]] = created["Arn"]
        deployment.record(key, created["KeyId"], arn=created["Arn"], keyId=created["KeyId"])
    return arns


def _buckets(
    declared: ResourceGraph,
    aws: EmbeddedAws,
    tags: dict[str, str],
    keys: dict[str, str],
    deployment: Deployment,
    names: dict[str, str],
) -> None:
    s3 = aws.client("s3")
    for bucket in declared.of_type(S3_BUCKET):
        # Pulumi auto-naming: logical name, dash, seven random hex characters.
        auto_name = f"{bucket['name']}-{secrets.token_hex(4)[:7]}"
        name = names.get(bucket["name"]) or bucket["inputs"].get("bucket") or auto_name
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_list(tags)})
        for versioning in declared.dependents(bucket, S3_BUCKET_VERSIONING):
            status = versioning["inputs"]["versioningConfiguration"]["status"]
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        for config in declared.dependents(bucket, S3_BUCKET_ENCRYPTION):
            rule = config["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
            key = declared.dependency(config, KMS_KEY)
            default = {"SSEAlgorithm": rule["sseAlgorithm"]}
            if key is not None:
                default["KMSMasterKeyID"] = keys[key["urn"]]
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
                },
            )
        for block in declared.dependents(bucket, S3_BUCKET_PUBLIC_ACCESS_BLOCK):
            flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy")
            config = {flag: bool(block["inputs"].get(flag[0].lower() + flag[1:])) for flag in flags}
            config["RestrictPublicBuckets"] = bool(block["inputs"].get("restrictPublicBuckets"))
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=config)
        for policy in declared.dependents(bucket, S3_BUCKET_POLICY):
            text = policy["inputs"]["policy"]
            text = text if isinstance(text, str) else json.dumps(text)
            offline = f"{bucket['name']}{OFFLINE_BUCKET_SUFFIX}"
            s3.put_bucket_policy(Bucket=name, Policy=text.replace(offline, name))
        deployment.outputs[f"bucket:{bucket['name']}"] = name
        deployment.record(bucket, name, bucket=name, arn=f"arn:aws:s3:::{name}")
    deployment.outputs["modelBucketName"] = next(iter(deployment.outputs.values()), None)


def _network(
    declared: ResourceGraph, aws: EmbeddedAws, tags: dict[str, str], deployment: Deployment
) -> None:
    ec2 = aws.client("ec2")
    for vpc in declared.of_type(EC2_VPC):
        vpc_tags = {**tags, **vpc["inputs"].get("tags", {})}
        vpc_id = ec2.create_vpc(
            CidrBlock=vpc["inputs"]["cidrBlock"],
            TagSpecifications=[{"ResourceType": "vpc", "Tags": _tag_list(vpc_tags)}],
        )["Vpc"]["VpcId"]
        deployment.outputs["vpcId"] = vpc_id
        deployment.record(vpc, vpc_id)
        for subnet in declared.dependents(vpc, EC2_SUBNET):
            inputs = subnet["inputs"]
            subnet_id = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=inputs["cidrBlock"],
                AvailabilityZone=inputs["availabilityZone"],
                TagSpecifications=[
                    {
                        "ResourceType": "subnet",
                        "Tags": _tag_list({**tags, **inputs.get("tags", {})}),
                    }
                ],
            )["Subnet"]["SubnetId"]
            deployment.record(subnet, subnet_id)
            for nat in declared.dependents(subnet, EC2_NAT_GATEWAY):
                allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
                created = ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation)
                deployment.record(nat, created["NatGateway"]["NatGatewayId"])
