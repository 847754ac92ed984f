"""Network: the VPC (by stack tags and CIDR), its subnets (by CIDR and tags), NAT gateways."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from infra_tools.verify.declared import NAT_GATEWAY, SUBNET, VPC, Declared, Resource, label
from infra_tools.verify.locate import Bindings, bound_output, describe_tags
from infra_tools.verify.report import Mismatch, missing
from infra_tools.verify.target import Target, translated_errors

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import FilterTypeDef


def _tag_filters(tags: dict[str, str]) -> list[FilterTypeDef]:
    return [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags.items()]


def _find_vpc(target: Target, declared: Declared, vpc: Resource) -> str | Mismatch:
    cidr = str(vpc["inputs"].get("cidrBlock", ""))
    named = bound_output(declared, target, vpc)
    filters: list[FilterTypeDef] = [{"Name": "cidr-block-association.cidr-block", "Values": [cidr]}]
    if named is None:
        filters += _tag_filters(target.tags)
    else:
        filters.append({"Name": "vpc-id", "Values": [named]})
    found = [v.get("VpcId", "") for v in target.ec2().describe_vpcs(Filters=filters)["Vpcs"]]
    if len(found) == 1:
        return found[0]
    where = named or f"tagged {describe_tags(target.tags)}"
    if not found:
        return missing(label(vpc), f"no VPC {cidr} {where}")
    return Mismatch(label(vpc), "exists", "one", f"{len(found)} VPCs {cidr} {where}")


def check_network(target: Target, declared: Declared, bindings: Bindings) -> list[Mismatch]:
    problems: list[Mismatch] = []
    with translated_errors(target, "ec2"):
        for vpc in declared.of_type(VPC):
            found = _find_vpc(target, declared, vpc)
            subnets = declared.dependents(vpc, SUBNET)
            if isinstance(found, Mismatch):
                problems.append(found)
                # Nothing inside a missing VPC exists either: one line per declared resource.
                inside = subnets + [
                    nat for subnet in subnets for nat in declared.dependents(subnet, NAT_GATEWAY)
                ]
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
    problems: list[Mismatch] = []
    for subnet in subnets:
        cidr = str(subnet["inputs"].get("cidrBlock", ""))
        actual = by_cidr.get(cidr)
        if actual is None:
            problems.append(missing(label(subnet), f"no subnet {cidr} in {vpc_id}"))
            continue
        bindings[subnet["urn"]] = actual.get("SubnetId", "")
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


def _nat_gateways(
    target: Target,
    declared: Declared,
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
    declared_nats = [
        (nat, subnet) for subnet in subnets for nat in declared.dependents(subnet, NAT_GATEWAY)
    ]
    problems: list[Mismatch] = []
    for nat, subnet in declared_nats:
        subnet_id = bindings.get(subnet["urn"])
        if subnet_id is None:
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
