"""Creates a stack's declared storage and network resources with boto3, the way `pulumi up`
would name and tag them, so verify can be tested against the embedded AWS without the CLI."""

from __future__ import annotations

import json
import secrets
from typing import Any

from infra_tools.verify import Declared
from infra_tools.verify.declared import (
    BUCKET,
    BUCKET_POLICY,
    ENCRYPTION,
    KMS_KEY,
    NAT_GATEWAY,
    PUBLIC_ACCESS_BLOCK,
    SUBNET,
    VERSIONING,
    VPC,
)
from tests.conftest import EmbeddedAws

OFFLINE_BUCKET_SUFFIX = "-0000000"  # what synth's fakes call an auto-named bucket


def deploy(declared: Declared, aws: EmbeddedAws, tags: dict[str, str]) -> dict[str, Any]:
    """Create every declared bucket, key, VPC, subnet and NAT gateway; return stack outputs."""
    keys = _keys(declared, aws, tags)
    outputs = _buckets(declared, aws, tags, keys)
    outputs.update(_network(declared, aws, tags))
    return outputs


def _tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[Any]:
    return [{key: k, value: v} for k, v in tags.items()]


def _keys(declared: Declared, aws: EmbeddedAws, tags: dict[str, str]) -> dict[str, str]:
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
    return arns


def _buckets(
    declared: Declared, aws: EmbeddedAws, tags: dict[str, str], keys: dict[str, str]
) -> dict[str, Any]:
    s3 = aws.client("s3")
    outputs: dict[str, Any] = {}
    for bucket in declared.of_type(BUCKET):
        # Pulumi auto-naming: logical name, dash, seven random hex characters.
        name = bucket["inputs"].get("bucket") or f"{bucket['name']}-{secrets.token_hex(4)[:7]}"
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_list(tags)})
        for versioning in declared.dependents(bucket, VERSIONING):
            status = versioning["inputs"]["versioningConfiguration"]["status"]
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        for config in declared.dependents(bucket, ENCRYPTION):
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
        for block in declared.dependents(bucket, PUBLIC_ACCESS_BLOCK):
            flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy")
            config = {flag: bool(block["inputs"].get(flag[0].lower() + flag[1:])) for flag in flags}
            config["RestrictPublicBuckets"] = bool(block["inputs"].get("restrictPublicBuckets"))
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=config)
        for policy in declared.dependents(bucket, BUCKET_POLICY):
            text = policy["inputs"]["policy"]
            text = text if isinstance(text, str) else json.dumps(text)
            offline = f"{bucket['name']}{OFFLINE_BUCKET_SUFFIX}"
            s3.put_bucket_policy(Bucket=name, Policy=text.replace(offline, name))
        outputs[f"bucket:{bucket['name']}"] = name
    outputs["modelBucketName"] = next(iter(outputs.values()), None)
    return outputs


def _network(declared: Declared, aws: EmbeddedAws, tags: dict[str, str]) -> dict[str, Any]:
    ec2 = aws.client("ec2")
    outputs: dict[str, Any] = {}
    for vpc in declared.of_type(VPC):
        vpc_tags = {**tags, **vpc["inputs"].get("tags", {})}
        vpc_id = ec2.create_vpc(
            CidrBlock=vpc["inputs"]["cidrBlock"],
            TagSpecifications=[{"ResourceType": "vpc", "Tags": _tag_list(vpc_tags)}],
        )["Vpc"]["VpcId"]
        outputs["vpcId"] = vpc_id
        for subnet in declared.dependents(vpc, SUBNET):
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
            for _nat in declared.dependents(subnet, NAT_GATEWAY):
                allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
                ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation)
    return outputs
