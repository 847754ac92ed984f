"""The declared side: a stack's synthesized resources, navigable by type and dependency."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from infra_tools.synth import Synthesis

Resource = dict[str, Any]

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KMS_KEY = "aws:kms/key:Key"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
AWS_PROVIDER = "pulumi:providers:aws"


@dataclass(frozen=True)
class Declared:
    synthesis: Synthesis

    @property
    def stack(self) -> str:
        return self.synthesis.stack

    def of_type(self, token: str) -> list[Resource]:
        return [r for r in self.synthesis.resources if r["type"] == token]

    def dependents(self, resource: Resource, token: str) -> list[Resource]:
        """Resources of `token` whose inputs depend on `resource` (e.g. a bucket's policy)."""
        return [r for r in self.of_type(token) if resource["urn"] in r["dependencies"]]

    def dependency(self, resource: Resource, token: str) -> Resource | None:
        """The one resource of `token` that `resource` depends on, if exactly one."""
        found = [r for r in self.of_type(token) if r["urn"] in resource["dependencies"]]
        return found[0] if len(found) == 1 else None

    def aws_provider(self) -> Resource:
        providers = self.of_type(AWS_PROVIDER)
        if not providers:
            raise ValueError(f"stack {self.stack} declares no AWS provider; nothing to verify")
        return providers[0]

    def default_tags(self) -> dict[str, str]:
        """Tags the provider puts on every resource: how verify finds auto-named ones."""
        inputs = self.aws_provider()["inputs"]
        default_tags = cast(dict[str, Any], inputs.get("defaultTags") or {})
        tags = cast(dict[str, Any], default_tags.get("tags") or {})
        return {str(key): str(value) for key, value in tags.items()}


def label(resource: Resource) -> str:
    """How a report names a declared resource: `bucket model-store-bucket`."""
    kind = str(resource["type"]).rsplit(":", 1)[-1]
    words = {
        "Bucket": "bucket",
        "Key": "kms key",
        "Vpc": "vpc",
        "Subnet": "subnet",
        "NatGateway": "nat gateway",
        "Cluster": "eks cluster",
        "NodeGroup": "node group",
    }
    return f"{words.get(kind, kind)} {resource['name']}"


def policy_document(value: Any) -> dict[str, Any]:
    """A bucket policy as a dict, whether declared as JSON text or as an object."""
    if isinstance(value, str):
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return cast(dict[str, Any], parsed) if isinstance(parsed, dict) else {}
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def denies_insecure_transport(document: dict[str, Any]) -> bool:
    """True when a statement denies every request made without TLS."""
    statements: Any = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in cast(list[dict[str, Any]], statements):
        if statement.get("Effect") != "Deny":
            continue
        condition = cast(dict[str, Any], statement.get("Condition") or {})
        secure = cast(dict[str, Any], condition.get("Bool") or {}).get("aws:SecureTransport")
        if str(secure).lower() == "false":
            return True
    return False
