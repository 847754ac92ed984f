"""Runs every check of a stack in dependency order and collects the mismatches."""

from __future__ import annotations

from typing import Any, cast

from infra_tools.graph import ResourceGraph
from infra_tools.synth.stackfile import read_stack_file
from infra_tools.verify.cluster import check_clusters
from infra_tools.verify.keys import check_keys
from infra_tools.verify.locate import Bindings
from infra_tools.verify.network import check_network
from infra_tools.verify.report import Mismatch
from infra_tools.verify.storage import check_buckets
from infra_tools.verify.target import Target

# The LocalStack credentials a local stack file may carry; real keys never live in files.
_SERVICES = ("s3", "kms", "ec2", "eks", "sts")


def target_for(
    declared: ResourceGraph,
    endpoint_url: str | None = None,
    outputs: dict[str, Any] | None = None,
    state: ResourceGraph | None = None,
) -> Target:
    """Where the stack lives, from its AWS provider settings; `endpoint_url` overrides all."""
    provider = declared.aws_provider()["inputs"]
    endpoints: dict[str, str] = {}
    for entry in cast(list[dict[str, str]], provider.get("endpoints") or []):
        endpoints.update(entry)
    if endpoint_url:
        endpoints = dict.fromkeys(_SERVICES, endpoint_url)
    config = read_stack_file(declared.stack).config
    return Target(
        stack=declared.stack,
        region=str(provider.get("region", "us-east-1")),
        tags=declared.default_tags(),
        endpoints=endpoints,
        # Only the local stack's file holds keys (LocalStack's fixed "test" pair); every
        # other stack uses the standard credential chain (profile, env, OIDC web identity).
        access_key=config.get("aws:accessKey") if endpoints else None,
        secret_key=config.get("aws:secretKey") if endpoints else None,
        outputs=outputs or {},
        state=state,
    )


def verify_declared(declared: ResourceGraph, target: Target) -> list[Mismatch]:
    """Every mismatch between `declared` and the account; raises VerifyError if it can't look.

    Buckets are checked before keys: without a state, a bucket's encryption settings name its key.
    """
    bindings: Bindings = {}
    problems: list[Mismatch] = []
    problems += check_buckets(target, declared, bindings)
    problems += check_keys(target, declared, bindings)
    problems += check_network(target, declared, bindings)
    problems += check_clusters(target, declared, bindings)
    return problems
