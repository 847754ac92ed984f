"""EKS: each declared cluster's API endpoint access and control-plane logging, and its node
groups' scaling."""

from __future__ import annotations

import re
from typing import Any, cast

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.state import output, physical_id
from infra_tools.type_tokens import EKS_CLUSTER, EKS_NODE_GROUP
from infra_tools.verify.locate import Bindings, deployed, describe_tags, has_tags, named
from infra_tools.verify.report import Mismatch, label, missing
from infra_tools.verify.storage import AUTO_SUFFIX
from infra_tools.verify.target import Target, call_or_none, translated_errors


def _pattern(resource: Resource, name_key: str, prefix_key: str) -> re.Pattern[str]:
    inputs = resource["inputs"]
    if inputs.get(name_key):
        return re.compile(re.escape(str(inputs[name_key])) + "$")
    if inputs.get(prefix_key):
        return re.compile(re.escape(str(inputs[prefix_key])) + ".*$")
    return re.compile(re.escape(str(resource["name"])) + AUTO_SUFFIX + "$")


def _find_cluster(target: Target, declared: ResourceGraph, cluster: Resource) -> str | Mismatch:
    eks = target.eks()
    name = named(declared, target, cluster)
    if isinstance(name, Mismatch):
        return name
    if name is not None:
        found = call_or_none({"ResourceNotFoundException"}, lambda: eks.describe_cluster(name=name))
        return name if found else missing(label(cluster), f"no EKS cluster {name}")
    pattern = _pattern(cluster, "name", "namePrefix")
    names = [
        name
        for page in eks.get_paginator("list_clusters").paginate()
        for name in page.get("clusters", [])
        if pattern.match(name)
    ]
    tagged = [
        name
        for name in names
        if has_tags(eks.describe_cluster(name=name)["cluster"].get("tags", {}), target.tags)
    ]
    if len(tagged) == 1:
        return tagged[0]
    if not tagged:
        return missing(
            label(cluster),
            f"no EKS cluster like {pattern.pattern} tagged {describe_tags(target.tags)}",
        )
    return Mismatch(label(cluster), "exists", "one", f"{len(tagged)}: {', '.join(tagged)}")


def check_clusters(target: Target, declared: ResourceGraph, bindings: Bindings) -> list[Mismatch]:
    problems: list[Mismatch] = []
    clusters = declared.of_type(EKS_CLUSTER)
    if not clusters:
        return problems
    with translated_errors(target, "eks"):
        for cluster in clusters:
            found = _find_cluster(target, declared, cluster)
            groups = declared.dependents(cluster, EKS_NODE_GROUP)
            if isinstance(found, Mismatch):
                problems.append(found)
                problems += [
                    missing(label(g), f"its cluster {cluster['name']} is missing") for g in groups
                ]
                continue
            bindings[cluster["urn"]] = found
            problems += _cluster_settings(target, cluster, found)
            problems += [p for group in groups for p in _node_group(target, group, found)]
    return problems


def _cluster_settings(target: Target, cluster: Resource, name: str) -> list[Mismatch]:
    actual = target.eks().describe_cluster(name=name)["cluster"]
    wanted_vpc = cast(dict[str, Any], cluster["inputs"].get("vpcConfig") or {})
    actual_vpc = cast(dict[str, Any], actual.get("resourcesVpcConfig", {}))
    problems: list[Mismatch] = []
    for declared_key, actual_key, default in (
        ("endpointPrivateAccess", "endpointPrivateAccess", False),
        ("endpointPublicAccess", "endpointPublicAccess", True),
    ):
        wanted = bool(wanted_vpc.get(declared_key, default))
        has = bool(actual_vpc.get(actual_key, default))
        if wanted != has:
            problems.append(Mismatch(label(cluster), declared_key, str(wanted), str(has)))
    if wanted_vpc.get("endpointPublicAccess") and wanted_vpc.get("publicAccessCidrs"):
        wanted_cidrs = sorted(cast(list[str], wanted_vpc["publicAccessCidrs"]))
        has_cidrs = sorted(cast(list[str], actual_vpc.get("publicAccessCidrs", [])))
        if wanted_cidrs != has_cidrs:
            problems.append(
                Mismatch(label(cluster), "publicAccessCidrs", str(wanted_cidrs), str(has_cidrs))
            )
    wanted_logs = sorted(cast(list[str], cluster["inputs"].get("enabledClusterLogTypes") or []))
    has_logs = sorted(
        kind
        for setup in actual.get("logging", {}).get("clusterLogging", [])
        if setup.get("enabled")
        for kind in setup.get("types", [])
    )
    if wanted_logs != has_logs:
        problems.append(Mismatch(label(cluster), "logging", str(wanted_logs), str(has_logs)))
    return problems


def _find_node_group(target: Target, group: Resource, cluster_name: str) -> str | Mismatch:
    eks = target.eks()
    found = deployed(target, group)
    if isinstance(found, Mismatch):
        return found
    if found is not None:
        # A node group's id is `<cluster>:<node group>`.
        name = output(found, "nodeGroupName") or str(physical_id(found)).rsplit(":", 1)[-1]
        exists = call_or_none(
            {"ResourceNotFoundException"},
            lambda: eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=name),
        )
        return name if exists else missing(label(group), f"no node group {name} in {cluster_name}")
    pattern = _pattern(group, "nodeGroupName", "nodeGroupNamePrefix")
    names = [
        name
        for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster_name)
        for name in page.get("nodegroups", [])
        if pattern.match(name)
    ]
    if len(names) != 1:
        where = f"node groups like {pattern.pattern} in {cluster_name}"
        return missing(label(group), f"{len(names)} {where}")
    return names[0]


def _node_group(target: Target, group: Resource, cluster_name: str) -> list[Mismatch]:
    eks = target.eks()
    name = _find_node_group(target, group, cluster_name)
    if isinstance(name, Mismatch):
        return [name]
    actual = eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=name)["nodegroup"]
    scaling = cast(dict[str, Any], actual.get("scalingConfig", {}))
    wanted = cast(dict[str, Any], group["inputs"].get("scalingConfig") or {})
    ignored = set(group["options"]["ignoreChanges"])
    problems: list[Mismatch] = []
    for key in ("minSize", "maxSize", "desiredSize"):
        # desiredSize is the autoscaler's to change when the program ignores it.
        if key not in wanted or f"scalingConfig.{key}" in ignored:
            continue
        if int(wanted[key]) != int(scaling.get(key, -1)):
            problems.append(
                Mismatch(label(group), f"scaling {key}", str(wanted[key]), str(scaling.get(key)))
            )
    status = actual.get("status", "UNKNOWN")
    if status not in ("ACTIVE", "UPDATING"):
        problems.append(Mismatch(label(group), "status", "ACTIVE", status))
    return problems
