"""Kubernetes workloads: non-root, unprivileged, with resources and (long-running) probes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.guardrails.rules.base import Finding, Rule, label
from infra_tools.inputs import as_list, mapping
from infra_tools.type_tokens import (
    K8S_CRON_JOB,
    K8S_DAEMON_SET,
    K8S_DEPLOYMENT,
    K8S_JOB,
    K8S_POD,
    K8S_STATEFUL_SET,
)

LONG_RUNNING = (K8S_DEPLOYMENT, K8S_STATEFUL_SET, K8S_DAEMON_SET)
BATCH = (K8S_JOB, K8S_POD)
DANGEROUS_CAPABILITIES = ("ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE")


def _pod_spec(resource: Resource) -> dict[str, Any]:
    spec = mapping(resource["inputs"].get("spec"))
    if resource["type"] == K8S_CRON_JOB:
        spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    if resource["type"] != K8S_POD:
        spec = mapping(mapping(spec.get("template")).get("spec"))
    return spec


def _workloads(stack: ResourceGraph) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for resource in stack.of_type(*LONG_RUNNING, *BATCH, K8S_CRON_JOB):
        yield resource, _pod_spec(resource)


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(spec.get("initContainers")) + as_list(spec.get("containers"))


def _non_root(stack: ResourceGraph) -> Iterator[Finding]:
    for workload, spec in _workloads(stack):
        pod = mapping(spec.get("securityContext"))
        for container in _containers(spec):
            context = {**pod, **mapping(container.get("securityContext"))}
            if context.get("runAsNonRoot") is not True or context.get("runAsUser") == 0:
                yield Finding(
                    workload,
                    f"{label(workload)} container '{container.get('name')}' may run as root; "
                    "set securityContext runAsNonRoot: true and a non-zero runAsUser",
                )


def _unprivileged(stack: ResourceGraph) -> Iterator[Finding]:
    for workload, spec in _workloads(stack):
        host = [key for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
        if host:
            yield Finding(workload, f"{label(workload)} shares {host} with the node; remove them")
        for container in _containers(spec):
            context = mapping(container.get("securityContext"))
            added = as_list(mapping(context.get("capabilities")).get("add"))
            risky = [cap for cap in added if cap in DANGEROUS_CAPABILITIES]
            if context.get("privileged") is True or risky:
                yield Finding(
                    workload,
                    f"{label(workload)} container '{container.get('name')}' is privileged "
                    f"{risky or ''}; drop privileged: true and the added capabilities",
                )


def _no_escalation(stack: ResourceGraph) -> Iterator[Finding]:
    for workload, spec in _workloads(stack):
        for container in _containers(spec):
            context = mapping(container.get("securityContext"))
            if context.get("allowPrivilegeEscalation") is not False:
                yield Finding(
                    workload,
                    f"{label(workload)} container '{container.get('name')}' allows privilege "
                    "escalation; set securityContext allowPrivilegeEscalation: false",
                )


def _resources(stack: ResourceGraph) -> Iterator[Finding]:
    for workload, spec in _workloads(stack):
        for container in _containers(spec):
            resources = mapping(container.get("resources"))
            requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
            missing = [f"requests.{key}" for key in ("cpu", "memory") if key not in requests]
            missing += ["limits.memory"] if "memory" not in limits else []
            if missing:
                yield Finding(
                    workload,
                    f"{label(workload)} container '{container.get('name')}' has no {missing}; "
                    "set them so the scheduler and the autoscaler can plan",
                )


def _probes(stack: ResourceGraph) -> Iterator[Finding]:
    for workload in stack.of_type(*LONG_RUNNING):
        for container in as_list(_pod_spec(workload).get("containers")):
            missing = [p for p in ("readinessProbe", "livenessProbe") if not container.get(p)]
            if missing:
                yield Finding(
                    workload,
                    f"{label(workload)} container '{container.get('name')}' has no {missing}; "
                    "add them so traffic only reaches ready pods and hung ones restart",
                )


RULES = (
    Rule("k8s-non-root", "Every container runs as a non-root user.", "mandatory", _non_root),
    Rule(
        "k8s-no-privileged",
        "No privileged container, host namespace or dangerous capability.",
        "mandatory",
        _unprivileged,
    ),
    Rule(
        "k8s-no-privilege-escalation",
        "Containers forbid privilege escalation.",
        "advisory",
        _no_escalation,
    ),
    Rule(
        "k8s-resources-set",
        "Every container requests CPU and memory and limits memory.",
        "mandatory",
        _resources,
    ),
    Rule(
        "k8s-probes-set",
        "Long-running containers have readiness and liveness probes.",
        "mandatory",
        _probes,
    ),
)
