"""One-line summaries of a component's key resources, read from their synthesized inputs.

The components view of the diagram lists these lines inside each component's box. Summaries
are keyed by resource type, never by stack, so every stack gets the same vocabulary ("3 NAT
gateways" in prod, "NAT instance t4g.nano" in dev). Types without a summariser are counted
in a final "+N more resources" line instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.inputs import as_list, mapping, truthy
from infra_tools.policy_documents import allows, policy_document, statements
from infra_tools.type_tokens import (
    CLOUDWATCH_LOG_GROUP,
    EC2_FLOW_LOG,
    EC2_INSTANCE,
    EC2_NAT_GATEWAY,
    EC2_SUBNET,
    EC2_VPC,
    EC2_VPC_ENDPOINT,
    ECR_REPOSITORY,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    HELM_RELEASE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    K8S_CONFIG_MAP,
    K8S_CRON_JOB,
    K8S_DEPLOYMENT,
    K8S_HORIZONTAL_POD_AUTOSCALER,
    K8S_NAMESPACE,
    K8S_NETWORK_POLICY,
    K8S_SERVICE,
    K8S_STORAGE_CLASS,
    KMS_KEY,
    POD_MONITOR,
    PROMETHEUS_RULE,
    RDS_INSTANCE,
    S3_BUCKET,
    S3_BUCKET_ENCRYPTION,
    S3_BUCKET_LOGGING,
    S3_BUCKET_NOTIFICATION,
    S3_BUCKET_VERSIONING,
    SERVICE_MONITOR,
    SQS_QUEUE,
)

Summariser = Callable[[list[Resource], ResourceGraph], list[str]]


def _meta(resource: Resource) -> dict[str, Any]:
    return mapping(resource["inputs"].get("metadata"))


def _spec(resource: Resource) -> dict[str, Any]:
    return mapping(resource["inputs"].get("spec"))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _vpc(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [f"VPC {r['inputs'].get('cidrBlock', '')}".strip() for r in found]


def _subnets(found: list[Resource], _: ResourceGraph) -> list[str]:
    # Public subnets carry the ELB role tag (or auto-assign public IPs); the rest are private.
    def public(subnet: Resource) -> bool:
        tags = mapping(subnet["inputs"].get("tags"))
        return "kubernetes.io/role/elb" in tags or truthy(
            subnet["inputs"].get("mapPublicIpOnLaunch")
        )

    publics = sum(1 for subnet in found if public(subnet))
    zones = {str(subnet["inputs"].get("availabilityZone")) for subnet in found}
    return [f"{publics} public + {len(found) - publics} private subnets, {len(zones)} AZs"]


def _nat_gateways(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [_plural(len(found), "NAT gateway")]


def _instances(found: list[Resource], _: ResourceGraph) -> list[str]:
    # An instance that forwards others' traffic has the source/destination check off.
    return [
        f"{'NAT' if r['inputs'].get('sourceDestCheck') is False else 'EC2'} instance "
        f"{r['inputs'].get('instanceType', '?')}"
        for r in found
    ]


def _endpoints(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [
        f"{str(r['inputs'].get('serviceName', '')).rsplit('.', 1)[-1].upper()} "
        f"{str(r['inputs'].get('vpcEndpointType', 'Gateway')).lower()} endpoint"
        for r in found
    ]


def _buckets(found: list[Resource], view: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for bucket in found:
        traits: list[str] = []
        for versioning in view.attached(bucket, S3_BUCKET_VERSIONING, "bucket"):
            config = mapping(versioning["inputs"].get("versioningConfiguration"))
            if config.get("status") == "Enabled":
                traits.append("versioned")
        for encryption in view.attached(bucket, S3_BUCKET_ENCRYPTION, "bucket"):
            for rule in as_list(encryption["inputs"].get("rules")):
                default = mapping(mapping(rule).get("applyServerSideEncryptionByDefault"))
                traits.append("SSE-KMS" if "kms" in str(default.get("sseAlgorithm")) else "SSE-S3")
        if view.attached(bucket, S3_BUCKET_LOGGING, "bucket"):
            traits.append("access-logged")
        lines.append(f"S3 bucket {bucket['name']} ({', '.join(traits) or 'defaults'})")
    return lines


def _notifications(found: list[Resource], _: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for notification in found:
        for target in as_list(notification["inputs"].get("queues")):
            events = ", ".join(str(e) for e in as_list(mapping(target).get("events")))
            prefix = mapping(target).get("filterPrefix") or "the whole bucket"
            lines.append(f"bucket notifies SQS of {events} under {prefix}")
    return lines


def _queues(found: list[Resource], _: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for queue in found:
        inputs = queue["inputs"]
        sse = "SSE-KMS" if inputs.get("kmsMasterKeyId") else "SSE-SQS"
        if not truthy(inputs.get("sqsManagedSseEnabled")) and sse == "SSE-SQS":
            sse = "unencrypted"
        redrive = inputs.get("redrivePolicy")
        document = policy_document(redrive) if isinstance(redrive, str) else None
        receives = mapping(document).get("maxReceiveCount")
        role = f"DLQ after {receives} receives" if receives else "dead letters"
        lines.append(f"SQS queue {queue['name']} ({sse}, {role})")
    return lines


def _repositories(found: list[Resource], _: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for repo in found:
        inputs = repo["inputs"]
        traits = ["immutable tags"] if inputs.get("imageTagMutability") == "IMMUTABLE" else []
        if mapping(inputs.get("imageScanningConfiguration")).get("scanOnPush"):
            traits.append("scan on push")
        lines.append(f"ECR {inputs.get('name', repo['name'])} ({', '.join(traits) or 'defaults'})")
    return lines


def _keys(found: list[Resource], _: ResourceGraph) -> list[str]:
    rotated = all(r["inputs"].get("enableKeyRotation") for r in found)
    return [f"{_plural(len(found), 'KMS key')}{' (rotated)' if rotated else ''}"]


def _clusters(found: list[Resource], _: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for cluster in found:
        inputs = cluster["inputs"]
        vpc = mapping(inputs.get("vpcConfig"))
        endpoint = "public" if vpc.get("endpointPublicAccess", True) else "private"
        lines.append(f"EKS {inputs.get('version', '?')}, {endpoint} API endpoint")
        if inputs.get("encryptionConfig"):
            lines.append("secrets encrypted with KMS")
        if inputs.get("enabledClusterLogTypes"):
            lines.append("control-plane logs on")
    return lines


def _node_groups(found: list[Resource], _: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for group in found:
        inputs = group["inputs"]
        scaling = mapping(inputs.get("scalingConfig"))
        pool = mapping(inputs.get("labels")).get("mlops-platform/pool") or group["name"]
        types = "/".join(str(t) for t in as_list(inputs.get("instanceTypes")))
        market = "spot" if inputs.get("capacityType") == "SPOT" else "on-demand"
        size = f"{scaling.get('minSize', '?')}-{scaling.get('maxSize', '?')}"
        lines.append(f"pool {pool}: {size} x {types} {market}")
    return lines


def _addons(found: list[Resource], _: ResourceGraph) -> list[str]:
    return ["add-ons: " + ", ".join(sorted(str(r["inputs"].get("addonName")) for r in found))]


def _releases(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [
        f"Helm {r['inputs'].get('chart')} {r['inputs'].get('version', '')}".strip() for r in found
    ]


def _storage_classes(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [f"StorageClass {_meta(r).get('name', r['name'])}" for r in found]


def _roles(found: list[Resource], _: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for role in found:
        for statement in statements(policy_document(role["inputs"].get("assumeRolePolicy"))):
            principal = mapping(statement.get("Principal"))
            if "Federated" in principal:
                conditions = mapping(mapping(statement.get("Condition")).get("StringEquals"))
                subjects = [str(v) for k, v in conditions.items() if k.endswith(":sub")]
                who = subjects[0].rsplit(":", 2)[-2:] if subjects else ["?"]
                lines.append(f"IRSA role for SA {'/'.join(who)}")
            for service in as_list(principal.get("Service")):
                lines.append(f"IAM role for {str(service).split('.')[0]}")
    return lines


def _role_policies(found: list[Resource], _: ResourceGraph) -> list[str]:
    actions: dict[str, set[str]] = {}
    for policy in found:
        for statement in allows(policy_document(policy["inputs"].get("policy"))):
            for action in as_list(statement.get("Action")):
                service, _sep, verb = str(action).partition(":")
                actions.setdefault(service, set()).add(verb)
    parts = [
        f"{service} {'/'.join(sorted(verbs)) if len(verbs) <= 3 else _plural(len(verbs), 'action')}"
        for service, verbs in sorted(actions.items())
    ]
    return ["allows " + "; ".join(parts)] if parts else []


def _log_groups(found: list[Resource], _: ResourceGraph) -> list[str]:
    days = sorted({str(r["inputs"].get("retentionInDays", "?")) for r in found})
    return [f"{_plural(len(found), 'log group')} ({'/'.join(days)} days)"]


def _namespaces(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [
        f"ns {_meta(r).get('name')} "
        f"(PSS {mapping(_meta(r).get('labels')).get('pod-security.kubernetes.io/enforce', '-')})"
        for r in found
    ]


def _deployments(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [
        f"Deployment {_meta(r).get('name')}"
        + (f" x{_spec(r)['replicas']}" if "replicas" in _spec(r) else "")
        for r in found
    ]


def _autoscalers(found: list[Resource], _: ResourceGraph) -> list[str]:
    return [
        f"HPA {_spec(r).get('minReplicas', 1)}-{_spec(r).get('maxReplicas')} replicas"
        for r in found
    ]


def _cron_jobs(found: list[Resource], _: ResourceGraph) -> list[str]:
    lines: list[str] = []
    for job in found:
        workers = mapping(mapping(_spec(job).get("jobTemplate")).get("spec")).get("parallelism", 1)
        schedule = _spec(job).get("schedule", "?")
        lines.append(f"CronJob {_meta(job).get('name')} '{schedule}', {_plural(workers, 'worker')}")
    return lines


def _services(found: list[Resource], _: ResourceGraph) -> list[str]:
    def kind(spec: dict[str, Any]) -> str:
        return "headless" if spec.get("clusterIP") == "None" else str(spec.get("type", "ClusterIP"))

    return [f"Service {_meta(r).get('name')} ({kind(_spec(r))})" for r in found]


def _databases(found: list[Resource], _: ResourceGraph) -> list[str]:
    def line(db: Resource) -> str:
        inputs = db["inputs"]
        engine = f"{inputs.get('engine', 'db')} {inputs.get('engineVersion', '')}".strip()
        size = f"{inputs.get('instanceClass', '?')}, {inputs.get('allocatedStorage', '?')} GiB"
        zones = "Multi-AZ" if truthy(inputs.get("multiAz")) else "single-AZ"
        return f"RDS {engine} {size}, {zones}"

    return [line(db) for db in found]


def _counted(noun: str) -> Summariser:
    return lambda found, _: [_plural(len(found), noun)]


# Order here is the order of lines inside a box: the defining resource first.
SUMMARISERS: dict[str, Summariser] = {
    EC2_VPC: _vpc,
    EC2_SUBNET: _subnets,
    EC2_NAT_GATEWAY: _nat_gateways,
    EC2_INSTANCE: _instances,
    EC2_VPC_ENDPOINT: _endpoints,
    EC2_FLOW_LOG: _counted("VPC flow log"),
    RDS_INSTANCE: _databases,
    EKS_CLUSTER: _clusters,
    EKS_NODE_GROUP: _node_groups,
    EKS_ADDON: _addons,
    HELM_RELEASE: _releases,
    K8S_STORAGE_CLASS: _storage_classes,
    S3_BUCKET: _buckets,
    S3_BUCKET_NOTIFICATION: _notifications,
    SQS_QUEUE: _queues,
    ECR_REPOSITORY: _repositories,
    KMS_KEY: _keys,
    IAM_ROLE: _roles,
    IAM_ROLE_POLICY: _role_policies,
    CLOUDWATCH_LOG_GROUP: _log_groups,
    K8S_NAMESPACE: _namespaces,
    K8S_DEPLOYMENT: _deployments,
    K8S_HORIZONTAL_POD_AUTOSCALER: _autoscalers,
    K8S_CRON_JOB: _cron_jobs,
    K8S_SERVICE: _services,
    K8S_NETWORK_POLICY: _counted("NetworkPolicy"),
    SERVICE_MONITOR: _counted("ServiceMonitor"),
    POD_MONITOR: _counted("PodMonitor"),
    PROMETHEUS_RULE: _counted("PrometheusRule"),
    K8S_CONFIG_MAP: _counted("ConfigMap"),
}


def summarise(resources: list[Resource], view: ResourceGraph, limit: int = 8) -> list[str]:
    """The key lines for one component's resources: at most `limit`, then what was left out."""
    lines: list[str] = []
    for token, summariser in SUMMARISERS.items():
        found = [r for r in resources if r["type"] == token]
        if found:
            lines += summariser(found, view)
    rest = sum(1 for r in resources if r["type"] not in SUMMARISERS)
    if len(lines) > limit:
        lines = [*lines[:limit], f"+{len(lines) - limit} more lines"]
    if rest:
        lines.append(f"+{rest} more resources (--detail resources)")
    return lines
