"""What verify finds: mismatches (exit 1) and reasons it could not look at all (exit 2)."""

from __future__ import annotations

from dataclasses import dataclass

from infra_tools.graph import Resource

# How a report names a declared resource's type: `bucket model-store-bucket`.
_WORDS = {
    "Bucket": "bucket",
    "Key": "kms key",
    "Vpc": "vpc",
    "Subnet": "subnet",
    "NatGateway": "nat gateway",
    "Cluster": "eks cluster",
    "NodeGroup": "node group",
}


@dataclass(frozen=True)
class Mismatch:
    """One declared property that does not hold in the account."""

    resource: str
    """The declared resource, e.g. `bucket model-store-bucket`."""
    prop: str
    declared: str
    actual: str

    def line(self) -> str:
        return f"{self.resource} {self.prop}: declared {self.declared}, actual {self.actual}"


def label(resource: Resource) -> str:
    """How a report names a declared resource: `bucket model-store-bucket`."""
    kind = str(resource["type"]).rsplit(":", 1)[-1]
    return f"{_WORDS.get(kind, kind)} {resource['name']}"


def missing(resource: str, where: str) -> Mismatch:
    """A declared resource that does not exist (e.g. the stack was never deployed)."""
    return Mismatch(resource, "exists", "yes", f"missing ({where})")


class VerifyError(Exception):
    """Verification could not run at all: no credentials, endpoint unreachable, bad input."""
