"""Monthly cost of a synthesized stack from the price table in prices.yaml.

Two totals: idle (every node pool at its minimum) and busy (every pool at its maximum). Each
node pool's line also says how many pods one of its nodes runs (pod_slots).
Usage-priced items (NAT data, storage, logs) use the volumes stated in prices.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from infra_tools.graph import Resource, ResourceGraph, identifiers
from infra_tools.guardrails.pod_slots import node_network, prefix_delegation
from infra_tools.guardrails.rules.storage import access_log_buckets
from infra_tools.inputs import as_list, mapping
from infra_tools.type_tokens import (
    ALB_LOAD_BALANCER,
    CLOUDWATCH_LOG_GROUP,
    EC2_EIP,
    EC2_FLOW_LOG,
    EC2_INSTANCE,
    EC2_LAUNCH_TEMPLATE,
    EC2_NAT_GATEWAY,
    EC2_VPC_ENDPOINT,
    ECR_REPOSITORY,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    K8S_PERSISTENT_VOLUME_CLAIM,
    K8S_SERVICE,
    KMS_KEY,
    LB_LOAD_BALANCER,
    RDS_INSTANCE,
    S3_BUCKET,
    SQS_QUEUE,
)

PRICES = Path(__file__).with_name("prices.yaml")
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Mi|Gi|Ti|M|G|T)?$")
_GIB = {
    "Mi": 1 / 1024,
    "M": 1 / 1024,
    "Gi": 1.0,
    "G": 1.0,
    "Ti": 1024.0,
    "T": 1024.0,
    None: 1 / 2**30,
}


class CostError(ValueError):
    """The graph holds something the price table cannot price."""


@dataclass(frozen=True)
class Line:
    resource: str
    type: str
    item: str
    idle: float
    busy: float


@dataclass(frozen=True)
class Estimate:
    stack: str
    lines: list[Line]

    @property
    def idle(self) -> float:
        return round(sum(line.idle for line in self.lines), 2)

    @property
    def busy(self) -> float:
        return round(sum(line.busy for line in self.lines), 2)

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "currency": "USD",
            "period": "month",
            "idleTotal": self.idle,
            "busyTotal": self.busy,
            "lines": [asdict(line) for line in self.lines],
        }


@cache
def price_table(path: Path = PRICES) -> dict[str, Any]:
    table: dict[str, Any] = yaml.safe_load(path.read_text())
    return table


class _Pricer:
    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        self.hours = float(table["hoursPerMonth"])

    def price(self, key: str) -> float:
        return float(self.table["prices"][key]["usd"])

    def usage(self, key: str) -> float:
        return float(self.table["usage"][key]["value"])

    def hourly(self, key: str, count: float = 1) -> float:
        return self.price(key) * self.hours * count

    def database(self, instance_class: str, owner: str) -> float:
        hourly = self.table.get("databases", {}).get(instance_class)
        if hourly is None:
            raise CostError(
                f"{owner}: instance class {instance_class!r} has no price; add it under "
                "'databases' in infra_tools/guardrails/prices.yaml (Single-AZ hourly, with "
                "source)"
            )
        return float(hourly) * self.hours

    def instance(self, instance_type: str, capacity: str, owner: str) -> float:
        row = self.table["instances"].get(instance_type)
        if row is None:
            raise CostError(
                f"{owner}: instance type {instance_type!r} has no price; add it under "
                "'instances' in infra_tools/guardrails/prices.yaml (on-demand and spot, "
                "with source)"
            )
        return float(row["spot" if capacity == "SPOT" else "onDemand"]) * self.hours


def _gib(quantity: Any) -> float:
    match = _QUANTITY.match(str(quantity))
    return float(match.group(1)) * _GIB[match.group(2)] if match else 0.0


def _line(resource: Resource, item: str, idle: float, busy: float | None = None) -> Line:
    busy = idle if busy is None else busy
    return Line(
        resource["name"], resource["type"].rsplit(":", 1)[-1], item, round(idle, 2), round(busy, 2)
    )


def _launch_template(stack: ResourceGraph, group: Resource) -> Resource | None:
    reference = mapping(group["inputs"].get("launchTemplate"))
    wanted = {reference.get("id"), reference.get("name")} - {None}
    for template in stack.of_type(EC2_LAUNCH_TEMPLATE):
        if identifiers(template) & wanted or template["urn"] in group.get("dependencies", []):
            return template
    return None


def _pods(instance_type: str, prefix_delegation: bool) -> str:
    network = node_network(instance_type)
    if network is None:
        return ""
    return f", {network.max_pods(prefix_delegation)} pods each"


def _node_group(
    stack: ResourceGraph, pricer: _Pricer, group: Resource, prefix_delegation: bool
) -> Iterator[Line]:
    inputs = group["inputs"]
    scaling = mapping(inputs.get("scalingConfig"))
    low, high = int(scaling.get("minSize", 0)), int(scaling.get("maxSize", 0))
    template = _launch_template(stack, group)
    template_inputs = mapping(template["inputs"] if template else None)
    types = as_list(inputs.get("instanceTypes")) or as_list(template_inputs.get("instanceType"))
    if not types:
        raise CostError(
            f"node group {group['name']}: no instance type in the group or its launch template"
        )
    capacity = str(inputs.get("capacityType", "ON_DEMAND"))
    node = pricer.instance(str(types[0]), capacity, f"node group {group['name']}")
    item = f"{low}-{high} x {types[0]} {capacity.lower()}{_pods(str(types[0]), prefix_delegation)}"
    yield _line(group, item, low * node, high * node)
    disk = float(inputs.get("diskSize") or 0)
    for device in as_list(template_inputs.get("blockDeviceMappings")):
        disk += float(mapping(mapping(device).get("ebs")).get("volumeSize") or 0)
    disk = disk or 20.0  # the EKS AMI's default root volume
    volume = disk * pricer.price("ebsGp3GbMonth")
    yield _line(group, f"{low}-{high} x {disk:g} GiB gp3 root volume", low * volume, high * volume)


def _instance(pricer: _Pricer, instance: Resource) -> Iterator[Line]:
    """A standalone EC2 instance (the dev NAT instance): always on, on-demand, its root volume."""
    inputs = instance["inputs"]
    instance_type = str(inputs.get("instanceType", ""))
    if not instance_type:
        raise CostError(f"instance {instance['name']}: no instance type")
    hourly = pricer.instance(instance_type, "ON_DEMAND", f"instance {instance['name']}")
    yield _line(instance, f"{instance_type} on-demand", hourly)
    root = mapping(inputs.get("rootBlockDevice"))
    # Without a size the volume takes the AMI snapshot's (8 GiB for Amazon Linux).
    size = float(root.get("volumeSize") or 8)
    yield _line(instance, f"{size:g} GiB gp3 root volume", size * pricer.price("ebsGp3GbMonth"))


def _database(pricer: _Pricer, db: Resource) -> Iterator[Line]:
    """An RDS instance: its hours and storage (twice for Multi-AZ: a standby of each), backups
    beyond the free allowance (as much as the provisioned storage), and the master password's
    Secrets Manager secret when RDS manages it."""
    inputs = db["inputs"]
    copies = 2 if inputs.get("multiAz") else 1
    zones = "Multi-AZ" if copies == 2 else "Single-AZ"
    instance_class = str(inputs.get("instanceClass", ""))
    hourly = pricer.database(instance_class, f"database {db['name']}")
    yield _line(db, f"{instance_class} {zones}", copies * hourly)
    storage = float(inputs.get("allocatedStorage") or 20)
    price = pricer.price("rdsGp3GbMonth")
    yield _line(db, f"{storage:g} GiB gp3 database storage {zones}", copies * storage * price)
    days = int(inputs.get("backupRetentionPeriod") or 0)
    backups = days * pricer.usage("dbBackupChangeGbPerDay")
    if backups:
        cost = backups * pricer.price("rdsBackupGbMonth")
        yield _line(db, f"{backups:g} GB backups beyond free ({days} days)", cost)
    if inputs.get("manageMasterUserPassword"):
        yield _line(db, "Secrets Manager secret (master password)", pricer.price("secretMonth"))


def _queue(pricer: _Pricer, queue: Resource) -> Line:
    """SQS charges per request only, nothing per queue or hour: a working queue (one with a
    dead-letter queue, hence a consumer) costs its consumer's long polls, a dead-letter queue
    nothing while empty. The first million requests a month are free (per account, counted
    once per queue here, an overestimate only above it)."""
    if not queue["inputs"].get("redrivePolicy"):
        return _line(queue, "SQS dead-letter queue (requests only; none while empty)", 0.0)
    millions = pricer.usage("sqsRequestMillionPerQueue")
    billed = max(millions - pricer.usage("sqsFreeRequestMillion"), 0.0)
    cost = billed * pricer.price("sqsRequestMillion")
    return _line(queue, f"SQS {millions:g}M requests (first 1M/month free)", cost)


def _logs(pricer: _Pricer) -> float:
    gb = pricer.usage("logGbPerGroup")
    return gb * (pricer.price("logsIngestGb") + pricer.price("logsStorageGbMonth"))


def _lines(stack: ResourceGraph, pricer: _Pricer) -> Iterator[Line]:
    log_targets = access_log_buckets(stack)
    prefixes = prefix_delegation(stack)
    for resource in stack.resources:
        kind, inputs = resource["type"], resource["inputs"]
        if kind == EKS_CLUSTER:
            yield _line(resource, "EKS control plane", pricer.hourly("eksControlPlaneHour"))
            if inputs.get("enabledClusterLogTypes"):
                yield _line(resource, "control-plane logs (CloudWatch)", _logs(pricer))
        elif kind == EKS_NODE_GROUP:
            yield from _node_group(stack, pricer, resource, prefixes)
        elif kind == EC2_NAT_GATEWAY:
            data = pricer.usage("natGbPerMonth") * pricer.price("natGatewayGb")
            yield _line(
                resource, "NAT gateway hours + data", pricer.hourly("natGatewayHour") + data
            )
        elif kind == EC2_INSTANCE:
            yield from _instance(pricer, resource)
        elif kind == RDS_INSTANCE:
            yield from _database(pricer, resource)
        elif kind == EC2_EIP:
            yield _line(resource, "public IPv4 address", pricer.hourly("publicIpv4Hour"))
        elif kind == EC2_VPC_ENDPOINT and inputs.get("vpcEndpointType") == "Interface":
            zones = max(len(as_list(inputs.get("subnetIds"))), 1)
            yield _line(
                resource,
                f"interface endpoint x {zones} AZ",
                pricer.hourly("interfaceEndpointHour", zones),
            )
        elif kind in (LB_LOAD_BALANCER, ALB_LOAD_BALANCER):
            kind = "nlbHour" if inputs.get("loadBalancerType") == "network" else "albHour"
            lcu = pricer.hourly("lcuHour", pricer.usage("lcuPerLoadBalancer"))
            yield _line(resource, "load balancer + LCU", pricer.hourly(kind) + lcu)
        elif kind == K8S_SERVICE and mapping(inputs.get("spec")).get("type") == "LoadBalancer":
            yield _line(resource, "NLB for Service type LoadBalancer", pricer.hourly("nlbHour"))
        elif kind == K8S_PERSISTENT_VOLUME_CLAIM:
            size = _gib(
                mapping((mapping(inputs.get("spec"))).get("resources"))
                .get("requests", {})
                .get("storage")
            )
            yield _line(resource, f"{size:g} GiB gp3 volume", size * pricer.price("ebsGp3GbMonth"))
        elif kind == KMS_KEY:
            yield _line(resource, "customer-managed KMS key", pricer.price("kmsKeyMonth"))
        elif kind in (CLOUDWATCH_LOG_GROUP, EC2_FLOW_LOG):
            if kind == EC2_FLOW_LOG and inputs.get("logDestinationType") == "s3":
                continue
            yield _line(resource, "CloudWatch logs", _logs(pricer))
        elif kind == S3_BUCKET:
            key = "logBucketGb" if resource["urn"] in log_targets else "modelStorageGb"
            gb = pricer.usage(key)
            yield _line(resource, f"{gb:g} GB S3 Standard", gb * pricer.price("s3StandardGbMonth"))
        elif kind == SQS_QUEUE:
            yield _queue(pricer, resource)
        elif kind == ECR_REPOSITORY:
            gb = pricer.usage("ecrStorageGb")
            yield _line(resource, f"{gb:g} GB ECR storage", gb * pricer.price("ecrStorageGbMonth"))


def estimate(
    stack: str, resources: list[Resource], table: dict[str, Any] | None = None
) -> Estimate:
    pricer = _Pricer(table or price_table())
    return Estimate(stack, list(_lines(ResourceGraph(resources), pricer)))


def as_table(estimate: Estimate) -> str:
    width = max([len(line.resource) for line in estimate.lines] + [8])
    item_width = max([len(line.item) for line in estimate.lines] + [4])
    header = f"{'RESOURCE':<{width}}  {'ITEM':<{item_width}}  {'IDLE $/mo':>10}  {'BUSY $/mo':>10}"
    rows = [
        f"{line.resource:<{width}}  {line.item:<{item_width}}  "
        f"{line.idle:>10.2f}  {line.busy:>10.2f}"
        for line in estimate.lines
    ]
    total = (
        f"{'TOTAL':<{width}}  {'':<{item_width}}  {estimate.idle:>10.2f}  {estimate.busy:>10.2f}"
    )
    note = "idle: every node pool at its minimum; busy: every pool at its maximum (us-east-1)."
    return "\n".join([f"Stack {estimate.stack} monthly cost (USD)", header, *rows, total, note])
