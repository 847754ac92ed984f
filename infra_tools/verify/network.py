"""Network: the VPC, its subnets (CIDR, zone, tags) and its NAT gateways.

With the stack's state each is the one the state names; without, the VPC is found by the
stack's tags and CIDR, its subnets by CIDR, and a NAT gateway by the subnet it sits in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.state import physical_id
from infra_tools.type_tokens import EC2_NAT_GATEWAY, EC2_SUBNET, EC2_VPC
from infra_tools.verify.locate import Bindings, deployed, describe_tags, named
from infra_tools.verify.report import Mismatch, label, missing
from infra_tools.verify.target import Target, translated_errors

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import FilterTypeDef


def _tag_filters(tags: dict[str, str]) -> list[FilterTypeDef]:
    return [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags.items()]


def _find_vpc(target: Target, declared: ResourceGraph, vpc: Resource) -> str | Mismatch:
    cidr = str(vpc["inputs"].get("cidrBlock", ""))
    vpc_id = named(declared, target, vpc)
    if isinstance(vpc_id, Mismatch):
        return vpc_id
    filters: list[FilterTypeDef] = [{"Name": "cidr-block-association.cidr-block", "Values": [cidr]}]
    if vpc_id is None:
        filters += _tag_filters(target.tags)
    else:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    found = [v.get("VpcId", "") for v in target.ec2().describe_vpcs(Filters=filters)["Vpcs"]]
    if len(found) == 1:
        return found[0]
    where = vpc_id or f"tagged {describe_tags(target.tags)}"
    if not found:
        return missing(label(vpc), f"no VPC {cidr} {where}")
    return Mismatch(label(vpc), "exists", "one", f"{len(found)} VPCs {cidr} {where}")


def check_network(target: Target, declared: ResourceGraph, bindings: Bindings) -> list[Mismatch]:
    problems: list[Mismatch] = []
    with translated_errors(target, "ec2"):
        for vpc in declared.of_type(EC2_VPC):
            found = _find_vpc(target, declared, vpc)
            subnets = declared.dependents(vpc, EC2_SUBNET)
            if isinstance(found, Mismatch):
                problems.append(found)
                # Nothing inside a missing VPC exists either: one line per declared resource.
                inside = subnets + [nat for nat, _ in _declared_nats(declared, subnets)]
                problems += [missing(label(r), f"its VPC {vpc['name']} is missing") for r in inside]
                continue
            bindings[vpc["urn"]] = found
            problems += _subnets(target, subnets, found, bindings)
            problems += _nat_gateways(target, declared, subnets, found, bindings)
    return problems


def _subnets(
    target: Target, subnets: list[Resource], vpc_id: str, bindings: Bindings
) -> list[Mismatch]:
    answer = target.ec2().describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    by_cidr = {s.get("CidrBlock", ""): s for s in answer["Subnets"]}
    by_id = {s.get("SubnetId", ""): s for s in answer["Subnets"]}
    problems: list[Mismatch] = []
    for subnet in subnets:
        cidr = str(subnet["inputs"].get("cidrBlock", ""))
        found = deployed(target, subnet)
        if isinstance(found, Mismatch):
            problems.append(found)
            continue
        wanted = (physical_id(found) or "") if found is not None else cidr
        actual = (by_id if found is not None else by_cidr).get(wanted)
        if actual is None:
            problems.append(missing(label(subnet), f"no subnet {wanted} in {vpc_id}"))
            continue
        bindings[subnet["urn"]] = actual.get("SubnetId", "")
        if actual.get("CidrBlock") != cidr:
            problems.append(Mismatch(label(subnet), "cidr", cidr, actual.get("CidrBlock", "?")))
        tags = {t.get("Key", ""): t.get("Value", "") for t in actual.get("Tags", [])}
        wanted = cast(dict[str, Any], subnet["inputs"].get("tags") or {})
        for key, value in sorted(wanted.items()):
            if tags.get(key) != str(value):
                problems.append(
                    Mismatch(label(subnet), f"tag {key}", str(value), tags.get(key, "absent"))
                )
        zone = subnet["inputs"].get("availabilityZone")
        if zone and actual.get("AvailabilityZone") != zone:
            problems.append(
                Mismatch(label(subnet), "zone", str(zone), actual.get("AvailabilityZone", "?"))
            )
    return problems


def _declared_nats(
    declared: ResourceGraph, subnets: list[Resource]
) -> list[tuple[Resource, Resource]]:
    """(NAT gateway, the subnet it sits in) for every NAT gateway declared in `subnets`."""
    return [(n, s) for s in subnets for n in declared.dependents(s, EC2_NAT_GATEWAY)]


def _nat_gateways(
    target: Target,
    declared: ResourceGraph,
    subnets: list[Resource],
    vpc_id: str,
    bindings: Bindings,
) -> list[Mismatch]:
    # The EC2 API names this parameter `Filter` (singular), unlike every other Describe call;
    # the type stubs say `Filters`, which the service rejects.
    answer: dict[str, Any] = target.ec2().describe_nat_gateways(  # type: ignore[call-arg]
        **cast(
            Any,
            {
                "Filter": [
                    {"Name": "vpc-id", "Values": [vpc_id]},
                    {"Name": "state", "Values": ["pending", "available"]},
                ]
            },
        )
    )
    nats = cast(list[dict[str, Any]], answer.get("NatGateways", []))
    subnet_of_nat = [str(nat.get("SubnetId", "")) for nat in nats]
    nat_ids = {str(nat.get("NatGatewayId", "")) for nat in nats}
    declared_nats = _declared_nats(declared, subnets)
    problems: list[Mismatch] = []
    for nat, subnet in declared_nats:
        subnet_id = bindings.get(subnet["urn"])
        found = deployed(target, nat)
        if isinstance(found, Mismatch):
            problems.append(found)
        elif found is not None and physical_id(found) not in nat_ids:
            where = f"no available NAT gateway {physical_id(found)} in {vpc_id}"
            problems.append(missing(label(nat), where))
        elif subnet_id is None:
            problems.append(missing(label(nat), f"its subnet {subnet['name']} is missing"))
        elif subnet_id not in subnet_of_nat:
            problems.append(missing(label(nat), f"no available NAT gateway in {subnet_id}"))
    if len(subnet_of_nat) > len(declared_nats):
        problems.append(
            Mismatch(
                f"vpc {vpc_id}", "nat gateways", str(len(declared_nats)), str(len(subnet_of_nat))
            )
        )
    return problems
