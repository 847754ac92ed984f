"""The MLflow tracking server and its database, as synthesized for dev and prod."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from infra import contracts
from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import (
    CLOUDWATCH_LOG_GROUP,
    EC2_SECURITY_GROUP,
    EC2_VPC,
    EKS_CLUSTER,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    RDS_INSTANCE,
    RDS_SUBNET_GROUP,
    VPC_SECURITY_GROUP_INGRESS_RULE,
)
from tests.infra.graph import Graph
from tests.infra.test_iam import _allows

STACKS = ("dev", "prod")


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, graphs: dict[str, Graph]) -> Graph:
    return graphs[request.param]


def tracking_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())
    section: dict[str, Any] = document["config"]["mlops-platform:tracking"]
    return section


def database(graph: Graph) -> dict[str, Any]:
    return graph.one(RDS_INSTANCE)


def pod(graph: Graph) -> dict[str, Any]:
    spec: dict[str, Any] = graph.manifest("Deployment", contracts.TRACKING_SERVER)["spec"]
    return spec["template"]["spec"]


def env(graph: Graph) -> dict[str, Any]:
    (container,) = pod(graph)["containers"]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_the_password_exists_only_in_the_rds_managed_secret(stack: Graph) -> None:
    inputs = database(stack)["inputs"]
    assert inputs["manageMasterUserPassword"] is True
    assert "password" not in inputs and "passwordWo" not in inputs
    assert inputs["masterUserSecretKmsKeyId"] == stack.outputs["modelKeyArn"]
    assert stack.outputs["trackingDatabaseSecretArn"].startswith("arn:aws:secretsmanager:")
    assert not [name for name in env(stack) if "PASSWORD" in name or "URI" in name]


def test_the_database_is_private_encrypted_and_on_gp3(stack: Graph) -> None:
    inputs = database(stack)["inputs"]
    assert inputs["publiclyAccessible"] is False
    assert inputs["storageEncrypted"] is True
    assert inputs["kmsKeyId"] == stack.outputs["modelKeyArn"]
    assert inputs["storageType"] == "gp3"
    assert inputs["copyTagsToSnapshot"] is True
    assert inputs["autoMinorVersionUpgrade"] is True
    assert inputs["engine"] == "postgres"
    subnets = stack.one(RDS_SUBNET_GROUP)["inputs"]["subnetIds"]
    assert subnets == stack.outputs["privateSubnetIds"], "the database lives in private subnets"


def test_only_the_cluster_reaches_postgres(stack: Graph) -> None:
    groups = database(stack)["inputs"]["vpcSecurityGroupIds"]
    (group,) = [g for g in stack.of_type(EC2_SECURITY_GROUP) if f"{g['name']}-id" in groups]
    rules = [
        rule
        for rule in stack.of_type(VPC_SECURITY_GROUP_INGRESS_RULE)
        if rule["inputs"]["securityGroupId"] == f"{group['name']}-id"
    ]
    (rule,) = rules
    cluster = stack.one(EKS_CLUSTER)
    assert rule["inputs"]["referencedSecurityGroupId"] == f"sg-{cluster['name']}"
    assert (rule["inputs"]["fromPort"], rule["inputs"]["toPort"]) == (5432, 5432)
    assert "cidrIpv4" not in rule["inputs"], "no address range may reach the database"


def test_postgres_logs_go_to_an_encrypted_group_with_a_retention_made_first(stack: Graph) -> None:
    instance = database(stack)
    identifier = instance["inputs"]["identifier"]
    group = next(
        g
        for g in stack.of_type(CLOUDWATCH_LOG_GROUP)
        if g["inputs"]["name"] == f"/aws/rds/instance/{identifier}/postgresql"
    )
    assert instance["inputs"]["enabledCloudwatchLogsExports"] == ["postgresql"]
    assert group["inputs"]["retentionInDays"] and group["inputs"]["kmsKeyId"]
    assert group["urn"] in instance["dependencies"], "RDS would create a group of its own first"


def test_prod_database_is_highly_available_backed_up_and_kept(prod: Graph) -> None:
    instance = database(prod)
    inputs = instance["inputs"]
    assert inputs["multiAz"] is True
    assert inputs["deletionProtection"] is True
    assert inputs["backupRetentionPeriod"] >= 7
    assert inputs["skipFinalSnapshot"] is False and inputs["finalSnapshotIdentifier"]
    assert instance["options"]["protect"] is True
    assert instance["options"]["retainOnDelete"] is True


def test_dev_database_relaxations_are_the_stack_files(dev: Graph) -> None:
    inputs, settings = database(dev)["inputs"], tracking_config("dev")["database"]
    assert inputs["instanceClass"] == settings["instanceClass"]
    assert inputs["multiAz"] is settings["multiAz"] is False
    assert inputs["deletionProtection"] is settings["deletionProtection"] is False
    assert inputs["backupRetentionPeriod"] == settings["backupRetentionDays"]
    assert inputs["skipFinalSnapshot"] is settings["skipFinalSnapshot"] is True
    assert database(dev)["options"]["protect"] is False
    text = (PROJECT_ROOT / "Pulumi.dev.yaml").read_text()
    section = text.split("mlops-platform:tracking:")[1].split("\n  mlops-platform:")[0]
    assert section.count("WARNING:") >= 2, "dev's relaxations must be called out"


def _tracking_statements(graph: Graph) -> list[dict[str, Any]]:
    policy = graph.one(IAM_ROLE_POLICY, f"mlops-{graph.stack}-tracking-policy")
    statements: list[dict[str, Any]] = json.loads(policy["inputs"]["policy"])["Statement"]
    return statements


def test_the_servers_role_touches_mlflow_artifacts_and_its_secret_only(stack: Graph) -> None:
    bucket, key = stack.outputs["modelBucketArn"], stack.outputs["modelKeyArn"]
    statements = _tracking_statements(stack)
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert _allows(statements, action, f"{bucket}/mlflow/1/abc/artifacts/model.onnx"), action
        for other in ("models/iris/1/model.onnx", "datasets/iris/iris.csv", "captures/x.json"):
            assert not _allows(statements, action, f"{bucket}/{other}"), (action, other)
    secret = stack.outputs["trackingDatabaseSecretArn"]
    assert _allows(statements, "secretsmanager:GetSecretValue", secret)
    assert not _allows(statements, "secretsmanager:GetSecretValue", secret + "-other")
    assert _allows(statements, "kms:Decrypt", key)
    (listing,) = [s for s in statements if "s3:ListBucket" in s["Action"]]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["mlflow/", "mlflow/*"]


def test_only_the_tracking_service_account_assumes_the_role(stack: Graph) -> None:
    role = stack.one(IAM_ROLE, f"mlops-{stack.stack}-tracking-role")
    (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    subjects = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == [
        f"system:serviceaccount:{contracts.TRACKING_NAMESPACE}:{contracts.TRACKING_SERVER}"
    ]
    account = stack.manifest("ServiceAccount", contracts.TRACKING_SERVER)
    annotation = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert annotation == stack.outputs["trackingRoleArn"]


def test_no_other_role_reaches_the_artifact_store(stack: Graph) -> None:
    bucket = stack.outputs["modelBucketArn"]
    for kind in ("serving", "training"):
        policy = stack.one(IAM_ROLE_POLICY, f"mlops-{stack.stack}-{kind}-policy")
        statements = json.loads(policy["inputs"]["policy"])["Statement"]
        for action in ("s3:GetObject", "s3:PutObject"):
            assert not _allows(statements, action, f"{bucket}/mlflow/1/x"), (kind, action)


def test_the_server_reads_its_database_and_artifact_store_from_the_deployment(
    stack: Graph,
) -> None:
    values = env(stack)
    assert values["TRACKING_DB_SECRET_ARN"] == stack.outputs["trackingDatabaseSecretArn"]
    assert values["TRACKING_DB_HOST"] == stack.outputs["trackingDatabaseAddress"]
    bucket = stack.outputs["modelBucketName"]
    assert values["TRACKING_ARTIFACTS_DESTINATION"] == f"s3://{bucket}/mlflow"
    hosts = values["TRACKING_ALLOWED_HOSTS"].split(",")
    assert f"{contracts.TRACKING_HOST}:{contracts.TRACKING_PORT}" in hosts
    assert "localhost" in hosts, "kubectl port-forward sends Host: localhost"
    assert values["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}


def test_the_liveness_probe_touches_the_database(stack: Graph) -> None:
    (container,) = pod(stack)["containers"]
    liveness = container["livenessProbe"]["httpGet"]
    assert liveness["path"].startswith("/api/2.0/mlflow/")
    assert {"name": "Host", "value": "localhost"} in liveness["httpHeaders"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert env(stack)["TRACKING_METRICS_DIR"] in mounts, "--expose-prometheus needs a writable dir"


def test_replicas_and_high_availability_follow_the_stack_file(stack: Graph) -> None:
    deployment = stack.manifest("Deployment", contracts.TRACKING_SERVER)
    replicas = tracking_config(stack.stack)["replicas"]
    assert deployment["spec"]["replicas"] == replicas
    pdbs = [p for p in stack.manifests("PodDisruptionBudget") if p["metadata"]["name"] == "mlflow"]
    spread = pod(stack).get("topologySpreadConstraints")
    if replicas > 1:
        assert pdbs and spread, "several replicas spread over zones behind a PDB"
    else:
        assert not pdbs and not spread


def test_the_service_is_cluster_internal(stack: Graph) -> None:
    service = stack.manifest("Service", contracts.TRACKING_SERVER)
    assert service["spec"]["type"] == "ClusterIP"
    assert [p["port"] for p in service["spec"]["ports"]] == [contracts.TRACKING_PORT]
    in_namespace = [
        s for s in stack.manifests("Service") if s["metadata"].get("namespace") == "tracking"
    ]
    assert len(in_namespace) == 1, "no load balancer in front of the tracking server"


def test_only_training_and_monitoring_reach_the_server(stack: Graph) -> None:
    policy = stack.manifest("NetworkPolicy", contracts.TRACKING_SERVER)["spec"]
    sources = [
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in policy["ingress"]
        for peer in rule["from"]
    ]
    assert sorted(sources) == sorted([contracts.TRAINING_NAMESPACE, contracts.MONITORING_NAMESPACE])
    postgres = [r for r in policy["egress"] if {"port": 5432, "protocol": "TCP"} in r["ports"]]
    (rule,) = postgres
    assert rule["to"] == [{"ipBlock": {"cidr": stack.one(EC2_VPC)["inputs"]["cidrBlock"]}}]


def test_training_pods_may_reach_the_tracking_server(stack: Graph) -> None:
    egress = stack.manifest("NetworkPolicy", "trainer")["spec"]["egress"]
    to_tracking = [
        rule
        for rule in egress
        if {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "tracking"}}}
        in rule.get("to", [])
    ]
    assert [rule["ports"] for rule in to_tracking] == [
        [{"port": contracts.TRACKING_PORT, "protocol": "TCP"}]
    ]


def test_prometheus_scrapes_the_server(stack: Graph) -> None:
    monitor = stack.manifest("ServiceMonitor", contracts.TRACKING_SERVER)["spec"]
    assert monitor["namespaceSelector"] == {"matchNames": [contracts.TRACKING_NAMESPACE]}
    assert monitor["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": contracts.TRACKING_SERVER
    }
    assert monitor["endpoints"][0]["path"] == "/metrics"


def test_local_stack_has_no_database(local: Graph) -> None:
    assert not local.of_type(RDS_INSTANCE)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_rotated_database_password_is_noticed_within_minutes(
    graphs: dict[str, Graph], stack: str
) -> None:
    """RDS rotates the managed secret; live sessions keep working, so only reopened
    connections (and with them the liveness probe, which reads the database) notice."""
    (container,) = graphs[stack].manifest("Deployment", "mlflow")["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE"]) <= 300
