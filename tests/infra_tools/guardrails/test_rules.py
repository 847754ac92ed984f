"""Every guardrail rule fires on a graph that breaks it and stays quiet on one that does not."""

from __future__ import annotations

import pytest

from infra_tools.guardrails.evaluate import evaluate, has_mandatory
from infra_tools.guardrails.rules import RULES, Rule
from infra_tools.type_tokens import EKS_CLUSTER, KMS_KEY, RDS_INSTANCE, S3_BUCKET_ENCRYPTION
from tests.infra_tools.guardrails.cases import CASES, bucket_set, make, provider

BY_NAME = {rule.name: rule for rule in RULES}


def _run(rule: Rule, resources: list[dict[str, object]]) -> list[str]:
    return [violation.message for violation in evaluate([provider(), *resources], [rule])]


def test_every_rule_has_a_case() -> None:
    assert sorted(BY_NAME) == sorted(CASES), (
        "add a fire/quiet case to tests/infra_tools/guardrails/cases.py"
    )


def test_rules_have_unique_names_and_descriptions() -> None:
    assert len(BY_NAME) == len(RULES)
    assert all(rule.description and rule.severity in ("mandatory", "advisory") for rule in RULES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_fires_on_a_breaking_graph(name: str) -> None:
    firing, _ = CASES[name]
    messages = _run(BY_NAME[name], firing)
    assert messages, f"rule {name} stayed quiet on a graph that breaks it"
    # The message names the offending resource and says how to fix it.
    names = {resource["name"] for resource in firing}
    assert all(any(f"'{n}'" in m for n in names) for m in messages), messages
    assert all(
        any(
            w in m
            for w in (
                "set ",
                "add ",
                "use ",
                "remove",
                "drop ",
                "list ",
                "write ",
                "allow ",
                "attach ",
                "create ",
                "scope ",
            )
        )
        for m in messages
    ), messages


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_stays_quiet_on_a_compliant_graph(name: str) -> None:
    _, quiet = CASES[name]
    assert _run(BY_NAME[name], quiet) == []


def test_prod_only_rules_are_quiet_in_dev() -> None:
    dev = provider({"project": "p", "environment": "dev", "owner": "o", "cost-center": "c"})
    found = evaluate([dev, *bucket_set(logging=None)], [BY_NAME["s3-access-logging-prod"]])
    assert found == []


def test_a_dev_database_may_be_single_az_without_protection() -> None:
    dev = provider({"project": "p", "environment": "dev", "owner": "o", "cost-center": "c"})
    relaxed = make(
        RDS_INSTANCE,
        "db",
        {"multiAz": False, "deletionProtection": False, "backupRetentionPeriod": 1},
    )
    assert evaluate([dev, relaxed], [BY_NAME["rds-prod-resilience"]]) == []


def test_log_bucket_may_use_sse_s3_and_needs_no_logging_itself() -> None:
    logs = bucket_set(
        "logs",
        logging=None,
        encryption=make(
            S3_BUCKET_ENCRYPTION,
            "logs",
            {
                "bucket": "logs-id",
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
            },
        ),
    )
    rules = [BY_NAME["s3-kms-encryption"], BY_NAME["s3-access-logging-prod"]]
    assert evaluate([provider(), *bucket_set(), *logs], rules) == []


def test_untagged_provider_fails_required_tags() -> None:
    key = make(KMS_KEY, "key", {"enableKeyRotation": True})
    found = evaluate([provider({}), key], [BY_NAME["required-tags"]])
    assert has_mandatory(found) and "cost-center" in found[0].message


def test_public_eks_endpoint_open_to_world_is_an_admin_port_violation() -> None:
    open_cluster = make(EKS_CLUSTER, "eks", {"vpcConfig": {"endpointPublicAccess": True}})
    found = evaluate([provider(), open_cluster], [BY_NAME["no-admin-port-open-to-world"]])
    assert [v.resource for v in found] == ["eks"]
