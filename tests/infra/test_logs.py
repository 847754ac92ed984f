"""Logs that outlive their pods: every container's lines reach an encrypted, bounded log group
through a shipper on every node; Grafana may read them; prod clients speak TLS."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from infra import contracts
from infra.components import monitoring_files as files
from infra.components import scheduling
from infra.config import ConfigError
from infra_tools.guardrails.evaluate import evaluate
from infra_tools.guardrails.rules import RULES
from infra_tools.synth import synthesize
from infra_tools.type_tokens import (
    CLOUDWATCH_LOG_GROUP,
    EKS_ADDON,
    EKS_NODE_GROUP,
    HELM_RELEASE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    KMS_KEY,
)
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with

STACKS = ["dev", "prod"]
REGION, ACCOUNT = "us-east-1", "123456789012"


def _release(graph: Graph, chart: str) -> dict[str, Any]:
    (release,) = [r for r in graph.of_type(HELM_RELEASE) if r["inputs"]["chart"] == chart]
    return release


def _policy(graph: Graph, role: str) -> list[dict[str, Any]]:
    policy = graph.one(IAM_ROLE_POLICY, f"mlops-{graph.stack}-{role}-policy")
    return json.loads(policy["inputs"]["policy"])["Statement"]


def _trusted_account(graph: Graph, role: str) -> str:
    trust = json.loads(graph.one(IAM_ROLE, f"mlops-{graph.stack}-{role}-role")[
        "inputs"]["assumeRolePolicy"])  # fmt: skip
    (condition,) = [s["Condition"]["StringEquals"] for s in trust["Statement"]]
    (subject,) = [v for k, v in condition.items() if k.endswith(":sub")]
    return subject


def _allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, a) for a in s["Action"])
        and any(fnmatch.fnmatchcase(resource, r) for r in s["Resource"])
        for s in statements
    )


def _group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_log_group_is_bounded_and_encrypted_with_a_key_logs_may_use(
    graphs: dict[str, Graph], stack: str
) -> None:
    """CloudWatch refuses to associate a key whose policy does not let the regional Logs
    service use it for that group: check the policy admits every group that names the key."""
    graph = graphs[stack]
    key = graph.one(KMS_KEY, f"mlops-{stack}-logs")
    statements = json.loads(key["inputs"]["policy"])["Statement"]
    (logs,) = [
        s for s in statements if s["Principal"].get("Service") == f"logs.{REGION}.amazonaws.com"
    ]
    allowed = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    groups = graph.of_type(CLOUDWATCH_LOG_GROUP)
    assert groups
    for group in groups:
        inputs = group["inputs"]
        assert inputs["retentionInDays"] >= 1, group["name"]
        assert inputs["kmsKeyId"].startswith(f"arn:aws:kms:{REGION}:"), group["name"]
        assert inputs["kmsKeyId"] == graph.outputs["logKeyArn"], f"{group['name']}: other key"
        arn = _group_arn(inputs["name"])
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in allowed), (
            f"the key policy does not let CloudWatch Logs encrypt {inputs['name']}"
        )
    assert "kms:GenerateDataKey*" in logs["Action"] and "kms:Decrypt*" in logs["Action"]


def test_retention_comes_from_the_stack_file(dev: Graph, prod: Graph) -> None:
    def containers(graph: Graph) -> dict[str, Any]:
        return graph.one(CLOUDWATCH_LOG_GROUP, f"mlops-{graph.stack}-containers")["inputs"]

    assert containers(dev)["retentionInDays"] == 7
    assert containers(prod)["retentionInDays"] == 90


@pytest.mark.parametrize(
    ("stack", "days", "rule"),
    [("dev", 10, "is not a retention CloudWatch Logs accepts; use e.g. 7"), ("prod", 14, ">= 30")],
)
def test_a_bad_retention_names_the_key_and_the_fix(
    tmp_path: Path, stack: str, days: int, rule: str
) -> None:
    root = stack_root_with(tmp_path, stack, {"mlops-platform:logs.retentionDays": days})
    with pytest.raises(ConfigError) as raised:
        synthesize(stack, root)
    (problem,) = raised.value.problems
    assert f"mlops-platform:logs.retentionDays={days}" in problem and rule in problem, problem


@pytest.mark.parametrize("stack", STACKS)
def test_the_shipper_runs_on_every_node_and_writes_only_to_the_stacks_group(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    values = _release(graph, "aws-for-fluent-bit")["inputs"]["values"]
    group = graph.one(CLOUDWATCH_LOG_GROUP, f"mlops-{stack}-containers")["inputs"]["name"]
    output = values["cloudWatchLogs"]
    assert output["enabled"] is True and output["logGroupName"] == group
    # A group the shipper created itself would have no retention and no key.
    assert not output.get("autoCreateGroup") and not output.get("logGroupTemplate")
    for field in ("namespace_name", "pod_name", "container_name"):
        assert field in output["logStreamTemplate"], "streams must be findable by pod"
    # GPU nodes carry a NoSchedule taint: the shipper must tolerate it, or a training run's
    # logs would never leave its node.
    taint = {"key": scheduling.GPU_TAINT_KEY, "effect": scheduling.GPU_TAINT_EFFECT}
    assert any(
        t.get("operator") == "Exists" and t.get("key") in (None, taint["key"])
        for t in values["tolerations"]
    ), values["tolerations"]
    account = values["serviceAccount"]
    assert _trusted_account(graph, "log-shipper") == (
        f"system:serviceaccount:kube-system:{account['name']}"
    )
    assert account["annotations"][scheduling.ROLE_ARN_ANNOTATION] == (
        f"arn:aws:iam::{ACCOUNT}:role/mlops-{stack}-log-shipper-role"
    )
    statements = _policy(graph, "log-shipper")
    stream = f"{_group_arn(group)}:log-stream:serving.model-server-x.server"
    assert _allows(statements, "logs:PutLogEvents", stream)
    assert not _allows(statements, "logs:CreateLogGroup", _group_arn(group))
    assert not _allows(statements, "logs:PutLogEvents", stream.replace(group, "/other/group"))


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_reads_the_logs_with_a_role_that_cannot_write(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    grafana = _release(graph, "kube-prometheus-stack")["inputs"]["values"]["grafana"]
    (source,) = [s for s in grafana["additionalDataSources"] if s["type"] == "cloudwatch"]
    # The dashboards' log panels name this uid.
    assert source["uid"] == files.LOGS_DATASOURCE_UID
    group = graph.one(CLOUDWATCH_LOG_GROUP, f"mlops-{stack}-containers")["inputs"]["name"]
    arn = _group_arn(group)
    # Grafana names a group by its ARN as DescribeLogGroups returns it, with `:*`.
    assert source["jsonData"]["logGroups"] == [{"arn": f"{arn}:*", "name": group}]
    for board in ("serving", "gpu-training"):
        (config_map,) = [
            m for m in graph.manifests("ConfigMap") if m["metadata"]["name"] == f"dashboard-{board}"
        ]
        panels = json.loads(config_map["data"][f"{board}.json"])["panels"]
        logs = [t for p in panels if p["type"] == "logs" for t in p["targets"]]
        # Grafana drops a saved logs query that names no log group.
        assert logs and all(t["logGroups"] == [{"arn": f"{arn}:*", "name": group}] for t in logs)
    assert source["jsonData"]["authType"] == "default"
    account = grafana["serviceAccount"]
    assert _trusted_account(graph, "log-reader") == (
        f"system:serviceaccount:{contracts.MONITORING_NAMESPACE}:{account['name']}"
    )
    statements = _policy(graph, "log-reader")
    assert _allows(statements, "logs:StartQuery", arn)
    for action in ("logs:PutLogEvents", "logs:DeleteLogGroup", "logs:PutRetentionPolicy"):
        assert not _allows(statements, action, arn), action


def test_nodes_have_room_for_a_daemonset_per_node(dev: Graph) -> None:
    """Dev's one t3.medium had 17 pod slots, all taken; prefix delegation lifts the limit,
    and must be configured before the node groups that compute their max pods from it."""
    cni = dev.one(EKS_ADDON, "mlops-dev-vpc-cni")
    config = json.loads(cni["inputs"]["configurationValues"])
    assert config["env"]["ENABLE_PREFIX_DELEGATION"] == "true"
    assert config["enableNetworkPolicy"] == "true"
    for pool in dev.of_type(EKS_NODE_GROUP):
        assert cni["urn"] in pool["dependencies"], f"{pool['name']} may start before the CNI"


def test_prod_serving_terminates_tls(prod: Graph) -> None:
    service = prod.manifest("Service", "model-server-iris-classifier-nlb")
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith(
        "arn:aws:acm:"
    )
    assert 443 in [port["port"] for port in service["spec"]["ports"]]


def test_prod_without_a_certificate_is_refused(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "prod", {"mlops-platform:app.exposure": None})
    with pytest.raises(ConfigError) as raised:
        synthesize("prod", root)
    (problem,) = raised.value.problems
    assert "serves plain HTTP in prod" in problem and "app.exposure.certificateArn" in problem


def test_prod_may_accept_plain_http_only_in_the_stack_file_and_the_check_sees_it(
    tmp_path: Path,
) -> None:
    root = stack_root_with(
        tmp_path, "prod", {"mlops-platform:app.exposure": {"allowPlainHttp": True}}
    )
    graph = synthesize("prod", root).graph
    service = graph.manifest("Service", "model-server-iris-classifier-nlb")
    assert service["metadata"]["annotations"]["mlops-platform/plain-http-accepted"] == "true"
    tls_rule = [rule for rule in RULES if rule.name == "prod-load-balancer-tls"]
    assert not evaluate(graph.resources, tls_rule)
    # The same Service without the recorded decision is a violation.
    del service["metadata"]["annotations"]["mlops-platform/plain-http-accepted"]
    resource = next(
        r
        for r in graph.resources
        if r["inputs"].get("metadata", {}).get("name") == "model-server-iris-classifier-nlb"
    )
    resource["inputs"]["metadata"]["annotations"].pop("mlops-platform/plain-http-accepted", None)
    assert evaluate(graph.resources, tls_rule)
