"""The VPC of each stack, read from its synthesized graph."""

from __future__ import annotations

import ipaddress

import pytest

from tests.infra.graph import Graph

NAT = "aws:ec2/natGateway:NatGateway"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"


def test_prod_has_one_nat_gateway_per_zone(prod: Graph) -> None:
    assert len(prod.of_type(NAT)) == 3


def test_dev_shares_a_single_nat_gateway(dev: Graph) -> None:
    assert len(dev.of_type(NAT)) == 1


@pytest.mark.parametrize(("stack", "zones"), [("dev", 2), ("prod", 3), ("local", 2)])
def test_subnets_span_the_configured_zones(
    graphs: dict[str, Graph], stack: str, zones: int
) -> None:
    subnets = graphs[stack].of_type(SUBNET)
    public = [s for s in subnets if s["inputs"]["tags"].get("kubernetes.io/role/elb") == "1"]
    private = [
        s for s in subnets if s["inputs"]["tags"].get("kubernetes.io/role/internal-elb") == "1"
    ]
    assert len(public) == zones and len(private) == zones, [s["name"] for s in subnets]
    assert len({s["inputs"]["availabilityZone"] for s in private}) == zones


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_subnets_fit_in_the_vpc_without_overlapping(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    vpc = ipaddress.ip_network(graph.one("aws:ec2/vpc:Vpc")["inputs"]["cidrBlock"])
    nets = [ipaddress.ip_network(s["inputs"]["cidrBlock"]) for s in graph.of_type(SUBNET)]
    assert all(net.subnet_of(vpc) for net in nets), nets  # type: ignore[arg-type]
    for index, net in enumerate(nets):
        for other in nets[index + 1 :]:
            assert not net.overlaps(other), f"{net} overlaps {other}"


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_no_subnet_gives_instances_public_ips(graphs: dict[str, Graph], stack: str) -> None:
    for subnet in graphs[stack].of_type(SUBNET):
        assert subnet["inputs"].get("mapPublicIpOnLaunch") is False, subnet["name"]


def test_private_subnets_leave_through_their_zones_nat_in_prod(prod: Graph) -> None:
    nat_routes = [r for r in prod.of_type(ROUTE) if "natGatewayId" in r["inputs"]]
    assert len({r["inputs"]["natGatewayId"] for r in nat_routes}) == 3


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_s3_traffic_uses_the_gateway_endpoint(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    endpoint = graph.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint["inputs"]["vpcEndpointType"] == "Gateway"
    assert endpoint["inputs"]["serviceName"].endswith(".s3")
    private_tables = [
        t for t in graph.of_type("aws:ec2/routeTable:RouteTable") if "private" in t["name"]
    ]
    assert len(endpoint["inputs"]["routeTableIds"]) == len(private_tables) + 1


def test_prod_records_flow_logs_and_dev_does_not(prod: Graph, dev: Graph) -> None:
    flow_log = prod.one("aws:ec2/flowLog:FlowLog")
    assert flow_log["inputs"]["trafficType"] == "ALL"
    assert dev.of_type("aws:ec2/flowLog:FlowLog") == []


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_no_security_group_opens_ssh_or_everything_to_the_internet(
    graphs: dict[str, Graph], stack: str
) -> None:
    graph = graphs[stack]
    rules = [
        rule["inputs"]
        for rule in graph.resources
        if rule["type"] in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",)
    ]
    for group in graph.of_type("aws:ec2/securityGroup:SecurityGroup"):
        rules += group["inputs"].get("ingress", [])
    for rule in graph.of_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
        if rule["inputs"].get("type") == "ingress":
            rules.append(rule["inputs"])
    for rule in rules:
        cidrs = [rule.get("cidrIpv4"), *rule.get("cidrBlocks", [])]
        open_to_world = "0.0.0.0/0" in cidrs or rule.get("cidrIpv6") == "::/0"
        assert not open_to_world, f"stack {stack}: ingress rule open to the internet: {rule}"
    default_sg = graph.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg["inputs"].get("ingress"), "the default security group must allow nothing"
