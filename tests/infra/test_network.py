"""The VPC of each stack, read from its synthesized graph."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config import ConfigError
from infra_tools.synth import synthesize
from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import (
    EC2_DEFAULT_SECURITY_GROUP,
    EC2_EIP,
    EC2_FLOW_LOG,
    EC2_INSTANCE,
    EC2_NAT_GATEWAY,
    EC2_ROUTE,
    EC2_ROUTE_TABLE,
    EC2_SECURITY_GROUP,
    EC2_SECURITY_GROUP_RULE,
    EC2_SUBNET,
    EC2_VPC,
    EC2_VPC_ENDPOINT,
    IAM_INSTANCE_PROFILE,
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    VPC_SECURITY_GROUP_INGRESS_RULE,
)
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with


def test_prod_has_one_nat_gateway_per_zone(prod: Graph) -> None:
    assert len(prod.of_type(EC2_NAT_GATEWAY)) == 3


def test_prod_has_no_nat_instance(prod: Graph) -> None:
    assert prod.of_type(EC2_INSTANCE) == [], [i["name"] for i in prod.of_type(EC2_INSTANCE)]


def test_dev_leaves_through_one_nat_instance_and_no_nat_gateway(dev: Graph) -> None:
    assert dev.of_type(EC2_NAT_GATEWAY) == [], [n["name"] for n in dev.of_type(EC2_NAT_GATEWAY)]
    instance = dev.one(EC2_INSTANCE)
    assert instance["inputs"]["instanceType"] == "t4g.nano"
    public_a = dev.one(EC2_SUBNET, "mlops-dev-public-a")
    assert instance["inputs"]["subnetId"] == f"{public_a['name']}-id", "first public subnet"


def test_nat_instance_requires_imdsv2_and_encrypts_its_root_volume(dev: Graph) -> None:
    inputs = dev.one(EC2_INSTANCE)["inputs"]
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    root = inputs["rootBlockDevice"]
    assert root["encrypted"] is True and root["volumeType"] == "gp3", root


def test_nat_instance_forwards_traffic_and_masquerades_the_vpc(dev: Graph) -> None:
    inputs = dev.one(EC2_INSTANCE)["inputs"]
    vpc_cidr = dev.one(EC2_VPC)["inputs"]["cidrBlock"]
    assert inputs["sourceDestCheck"] is False, "a NAT instance must not drop forwarded packets"
    assert "net.ipv4.ip_forward = 1" in inputs["userData"]
    assert f"-s {vpc_cidr} ! -d {vpc_cidr} -j MASQUERADE" in inputs["userData"]
    assert "systemctl enable --now iptables" in inputs["userData"], "rules must survive reboots"


def test_nat_instance_admits_only_the_vpc_and_no_ssh(dev: Graph) -> None:
    instance = dev.one(EC2_INSTANCE)
    assert not instance["inputs"].get("keyName"), "no key pair: managed through SSM"
    [group_id] = instance["inputs"]["vpcSecurityGroupIds"]
    group = next(g for g in dev.of_type(EC2_SECURITY_GROUP) if f"{g['name']}-id" == group_id)
    vpc_cidr = dev.one(EC2_VPC)["inputs"]["cidrBlock"]
    assert [rule["cidrBlocks"] for rule in group["inputs"]["ingress"]] == [[vpc_cidr]]


def test_nat_instance_profile_grants_only_ssm(dev: Graph) -> None:
    attachments = [
        a for a in dev.of_type(IAM_ROLE_POLICY_ATTACHMENT)
        if a["inputs"]["role"] == "mlops-dev-nat-role"
    ]  # fmt: skip
    assert [a["inputs"]["policyArn"] for a in attachments] == [
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    ]
    profile = dev.one(IAM_INSTANCE_PROFILE, "mlops-dev-nat-profile")
    # The fake cloud names a profile after its resource, as AWS does with a random suffix.
    assert dev.one(EC2_INSTANCE)["inputs"]["iamInstanceProfile"] == profile["name"]


def test_nat_instance_has_its_own_elastic_ip(dev: Graph) -> None:
    eips = dev.of_type(EC2_EIP)
    assert [e["inputs"].get("instance") for e in eips] == ["mlops-dev-nat-instance-id"]


def test_dev_private_subnets_route_to_the_nat_instance(dev: Graph) -> None:
    interface = "eni-mlops-dev-nat-instance"  # the fake cloud's id for its primary interface
    defaults = [
        r for r in dev.of_type(EC2_ROUTE)
        if "private" in r["name"] and r["inputs"]["destinationCidrBlock"] == "0.0.0.0/0"
    ]  # fmt: skip
    assert len(defaults) == 2
    assert all(r["inputs"].get("networkInterfaceId") == interface for r in defaults), defaults
    assert not any(r["inputs"].get("natGatewayId") for r in defaults)


def test_single_nat_gateway_mode_still_shares_one_gateway(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {"mlops-platform:network.natGateways": "single"})
    graph = synthesize("dev", root=root).graph
    assert len(graph.of_type(EC2_NAT_GATEWAY)) == 1 and graph.of_type(EC2_INSTANCE) == []


@pytest.mark.parametrize("mode", ["instance", "single"])
def test_prod_refuses_a_single_egress_point_with_exit_2(tmp_path: Path, mode: str) -> None:
    root = stack_root_with(tmp_path, "prod", {"mlops-platform:network.natGateways": mode})
    result = subprocess.run(
        [sys.executable, "-m", "infra_tools", "synth", "--stack", "prod",
         "--project-dir", str(root), "--out", str(tmp_path / "out")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    wanted = f'error: Pulumi.prod.yaml: mlops-platform:network.natGateways="{mode}" must be'
    assert wanted in result.stderr, result.stderr
    assert "must be perAz in prod" in result.stderr and "set it to perAz" in result.stderr


def test_nat_instance_type_must_be_graviton(tmp_path: Path) -> None:
    root = stack_root_with(tmp_path, "dev", {"mlops-platform:network.natInstanceType": "t3.nano"})
    with pytest.raises(ConfigError) as caught:
        synthesize("dev", root=root)
    assert caught.value.problems == [
        'Pulumi.dev.yaml: mlops-platform:network.natInstanceType="t3.nano" is not a Graviton '
        "(arm64) instance type, which the arm64 AMI needs; use e.g. t4g.nano or t4g.micro"
    ]


@pytest.mark.parametrize(("stack", "zones"), [("dev", 2), ("prod", 3), ("local", 2)])
def test_subnets_span_the_configured_zones(
    graphs: dict[str, Graph], stack: str, zones: int
) -> None:
    subnets = graphs[stack].of_type(EC2_SUBNET)
    public = [s for s in subnets if s["inputs"]["tags"].get("kubernetes.io/role/elb") == "1"]
    private = [
        s for s in subnets if s["inputs"]["tags"].get("kubernetes.io/role/internal-elb") == "1"
    ]
    assert len(public) == zones and len(private) == zones, [s["name"] for s in subnets]
    assert len({s["inputs"]["availabilityZone"] for s in private}) == zones


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_subnets_fit_in_the_vpc_without_overlapping(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    vpc = ipaddress.ip_network(graph.one(EC2_VPC)["inputs"]["cidrBlock"])
    nets = [ipaddress.ip_network(s["inputs"]["cidrBlock"]) for s in graph.of_type(EC2_SUBNET)]
    assert all(net.subnet_of(vpc) for net in nets), nets  # type: ignore[arg-type]
    for index, net in enumerate(nets):
        for other in nets[index + 1 :]:
            assert not net.overlaps(other), f"{net} overlaps {other}"


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_no_subnet_gives_instances_public_ips(graphs: dict[str, Graph], stack: str) -> None:
    for subnet in graphs[stack].of_type(EC2_SUBNET):
        assert subnet["inputs"].get("mapPublicIpOnLaunch") is False, subnet["name"]


def test_private_subnets_leave_through_their_zones_nat_in_prod(prod: Graph) -> None:
    nat_routes = [r for r in prod.of_type(EC2_ROUTE) if "natGatewayId" in r["inputs"]]
    assert len({r["inputs"]["natGatewayId"] for r in nat_routes}) == 3


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_s3_traffic_uses_the_gateway_endpoint(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    endpoint = graph.one(EC2_VPC_ENDPOINT)
    assert endpoint["inputs"]["vpcEndpointType"] == "Gateway"
    assert endpoint["inputs"]["serviceName"].endswith(".s3")
    private_tables = [t for t in graph.of_type(EC2_ROUTE_TABLE) if "private" in t["name"]]
    assert len(endpoint["inputs"]["routeTableIds"]) == len(private_tables) + 1


def test_prod_records_flow_logs_and_dev_does_not(prod: Graph, dev: Graph) -> None:
    flow_log = prod.one(EC2_FLOW_LOG)
    assert flow_log["inputs"]["trafficType"] == "ALL"
    assert dev.of_type(EC2_FLOW_LOG) == []


def test_flow_log_role_trusts_the_service_for_this_account_only(prod: Graph) -> None:
    flow_log = prod.one(EC2_FLOW_LOG)
    role = prod.one(IAM_ROLE, flow_log["name"])
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"].isdigit(), trust


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_no_security_group_opens_ssh_or_everything_to_the_internet(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    rules = [
        rule["inputs"]
        for rule in graph.resources
        if rule["type"] in (VPC_SECURITY_GROUP_INGRESS_RULE,)
    ]
    for group in graph.of_type(EC2_SECURITY_GROUP):
        rules += group["inputs"].get("ingress", [])
    for rule in graph.of_type(EC2_SECURITY_GROUP_RULE):
        if rule["inputs"].get("type") == "ingress":
            rules.append(rule["inputs"])
    for rule in rules:
        cidrs = [rule.get("cidrIpv4"), *rule.get("cidrBlocks", [])]
        open_to_world = "0.0.0.0/0" in cidrs or rule.get("cidrIpv6") == "::/0"
        assert not open_to_world, f"stack {stack}: ingress rule open to the internet: {rule}"
    default_sg = graph.one(EC2_DEFAULT_SECURITY_GROUP)
    assert not default_sg["inputs"].get("ingress"), "the default security group must allow nothing"
