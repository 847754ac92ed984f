"""Nodes and network edges: IMDSv2, encrypted volumes, no public IPs, no world-open admin ports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra_tools.graph import Resource, ResourceGraph, identifiers
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import as_list, mapping, truthy
from infra_tools.type_tokens import (
    EC2_INSTANCE,
    EC2_LAUNCH_TEMPLATE,
    EC2_SECURITY_GROUP,
    EC2_SECURITY_GROUP_RULE,
    EC2_SUBNET,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    VPC_SECURITY_GROUP_INGRESS_RULE,
)

ADMIN_PORTS = (22, 3389, 6443)
API_PORT = 443
WORLD = ("0.0.0.0/0", "::/0")


def _imdsv2(stack: ResourceGraph) -> Iterator[Finding]:
    for template in stack.of_type(EC2_LAUNCH_TEMPLATE):
        options = mapping(template["inputs"].get("metadataOptions"))
        if options.get("httpTokens") != "required":
            yield Finding(
                template,
                f"{label(template)} allows IMDSv1, which lets a pod's SSRF steal node credentials; "
                "set metadata_options http_tokens='required' (and http_put_response_hop_limit=1)",
            )


def _from_template(instance: Resource, key: str) -> bool:
    """An instance launched from a template inherits what it leaves unset; that rule covers it."""
    inputs = instance["inputs"]
    return inputs.get(key) is None and bool(inputs.get("launchTemplate"))


def _instance_imdsv2(stack: ResourceGraph) -> Iterator[Finding]:
    for instance in stack.of_type(EC2_INSTANCE):
        if _from_template(instance, "metadataOptions"):
            continue
        # EC2 still defaults to IMDSv1-and-v2 unless the AMI or account says otherwise.
        options = mapping(instance["inputs"].get("metadataOptions"))
        if options.get("httpTokens") != "required":
            yield Finding(
                instance,
                f"{label(instance)} allows IMDSv1, so an SSRF on it can steal its role's "
                "credentials; set metadata_options http_tokens='required'",
            )


def _encrypted_volumes(stack: ResourceGraph) -> Iterator[Finding]:
    for template in stack.of_type(EC2_LAUNCH_TEMPLATE):
        mappings = as_list(template["inputs"].get("blockDeviceMappings"))
        volumes = [mapping.get("ebs") for mapping in mappings if mapping.get("ebs")]
        if not volumes or not all(truthy(volume.get("encrypted")) for volume in volumes):
            yield Finding(
                template,
                f"{label(template)} leaves node volumes unencrypted (or to the AMI default); add "
                "block_device_mappings with ebs encrypted='true' (and the stack's KMS key)",
            )


def _instance_encrypted_volumes(stack: ResourceGraph) -> Iterator[Finding]:
    for instance in stack.of_type(EC2_INSTANCE):
        if _from_template(instance, "rootBlockDevice"):
            continue
        inputs = instance["inputs"]
        volumes = [mapping(inputs.get("rootBlockDevice"))]
        volumes += [mapping(volume) for volume in as_list(inputs.get("ebsBlockDevices"))]
        if not all(truthy(volume.get("encrypted")) for volume in volumes):
            yield Finding(
                instance,
                f"{label(instance)} leaves its root or data volumes unencrypted (or to the AMI "
                "default); set root_block_device (and every ebs_block_devices entry) "
                "encrypted=True",
            )


def _public_ips(stack: ResourceGraph) -> Iterator[Finding]:
    for template in stack.of_type(EC2_LAUNCH_TEMPLATE):
        interfaces = as_list(template["inputs"].get("networkInterfaces"))
        if any(truthy(interface.get("associatePublicIpAddress")) for interface in interfaces):
            yield Finding(
                template,
                f"{label(template)} gives nodes public IPs; set "
                "associate_public_ip_address='false' "
                "and reach the internet through the NAT gateway",
            )
    for instance in stack.of_type(EC2_INSTANCE):
        if truthy(instance["inputs"].get("associatePublicIpAddress")):
            yield Finding(
                instance,
                f"{label(instance)} has a public IP; set associate_public_ip_address=False",
            )
    subnets = list(stack.of_type(EC2_SUBNET))
    for group in stack.of_type(EKS_NODE_GROUP):
        ids = set(as_list(group["inputs"].get("subnetIds")))
        for subnet in subnets:
            if identifiers(subnet) & ids and truthy(subnet["inputs"].get("mapPublicIpOnLaunch")):
                yield Finding(
                    group,
                    f"{label(group)} places nodes in {label(subnet)}, which maps public IPs; "
                    "use the private subnets for node groups",
                )


def _ports(rule: dict[str, Any]) -> range | None:
    """The port range a rule opens; None for all traffic (protocol -1)."""
    protocol = str(rule.get("protocol", rule.get("ipProtocol", "tcp")))
    if protocol in ("-1", "all"):
        return None
    low, high = int(rule.get("fromPort", 0)), int(rule.get("toPort", 0))
    return range(low, high + 1)


def _world_cidrs(rule: dict[str, Any]) -> list[str]:
    cidrs = as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))
    cidrs += as_list(rule.get("cidrIpv4")) + as_list(rule.get("cidrIpv6"))
    return [cidr for cidr in cidrs if cidr in WORLD]


def _api_groups(stack: ResourceGraph) -> set[str]:
    """Ids of security groups attached to an EKS control plane (443 there is the admin API)."""
    groups: set[str] = set()
    for cluster in stack.of_type(EKS_CLUSTER):
        groups.update(as_list(mapping(cluster["inputs"].get("vpcConfig")).get("securityGroupIds")))
    return groups


def _ingress_rules(stack: ResourceGraph) -> Iterator[tuple[Resource, set[str], dict[str, Any]]]:
    """(resource that opens it, ids of its security group, rule) for every ingress rule."""
    for group in stack.of_type(EC2_SECURITY_GROUP):
        for rule in as_list(group["inputs"].get("ingress")):
            yield group, identifiers(group), rule
    for rule in stack.of_type(EC2_SECURITY_GROUP_RULE):
        if rule["inputs"].get("type") == "ingress":
            yield rule, {str(rule["inputs"].get("securityGroupId"))}, rule["inputs"]
    for rule in stack.of_type(VPC_SECURITY_GROUP_INGRESS_RULE):
        yield rule, {str(rule["inputs"].get("securityGroupId"))}, rule["inputs"]


def _admin_ports(stack: ResourceGraph) -> Iterator[Finding]:
    api_groups = _api_groups(stack)
    for owner, group_ids, rule in _ingress_rules(stack):
        world = _world_cidrs(rule)
        if not world:
            continue
        admin = ADMIN_PORTS + ((API_PORT,) if group_ids & api_groups else ())
        ports = _ports(rule)
        opened = [port for port in admin if ports is None or port in ports]
        if opened:
            yield Finding(
                owner,
                f"{label(owner)} opens port(s) {opened} to {', '.join(world)}; allow only the VPC "
                "or a VPN range, or use SSM Session Manager instead of SSH/RDP",
            )
    for cluster in stack.of_type(EKS_CLUSTER):
        vpc = mapping(cluster["inputs"].get("vpcConfig"))
        # AWS defaults a cluster endpoint to public and open to 0.0.0.0/0.
        public = vpc.get("endpointPublicAccess", True) is not False
        cidrs = as_list(vpc.get("publicAccessCidrs")) or ["0.0.0.0/0"]
        if public and any(cidr in WORLD for cidr in cidrs):
            yield Finding(
                cluster,
                f"{label(cluster)} serves its API (443) to the whole internet; set "
                "vpc_config endpoint_public_access=False or narrow public_access_cidrs",
            )


RULES = (
    Rule("launch-template-imdsv2", "Node launch templates require IMDSv2.", "mandatory", _imdsv2),
    Rule(
        "launch-template-encrypted-volumes",
        "Node launch templates encrypt every EBS volume.",
        "mandatory",
        _encrypted_volumes,
    ),
    Rule(
        "instance-imdsv2", "Standalone EC2 instances require IMDSv2.", "mandatory", _instance_imdsv2
    ),
    Rule(
        "instance-encrypted-volumes",
        "Standalone EC2 instances encrypt their root and data volumes.",
        "mandatory",
        _instance_encrypted_volumes,
    ),
    Rule("nodes-no-public-ip", "Nodes never get public IPs.", "mandatory", _public_ips),
    Rule(
        "no-admin-port-open-to-world",
        "No security group or API endpoint opens 22, 3389, 6443 or the API's 443 to 0.0.0.0/0.",
        "mandatory",
        _admin_ports,
    ),
)
