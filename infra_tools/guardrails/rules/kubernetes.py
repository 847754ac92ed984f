"""Kubernetes workloads: non-root, unprivileged, with resources and (long-running) probes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infra_tools.guardrails.rules.base import (
    Finding,
    Resource,
    Rule,
    StackView,
    as_list,
    label,
    mapping,
)

LONG_RUNNING = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
)
BATCH = ("kubernetes:batch/v1:Job", "kubernetes:core/v1:Pod")
CRON = "kubernetes:batch/v1:CronJob"
DANGEROUS_CAPABILITIES = ("ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE")


def _pod_spec(resource: Resource) -> dict[str, Any]:
    spec = mapping(resource["inputs"].get("spec"))
    if resource["type"] == CRON:
        spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    if resource["type"] != "kubernetes:core/v1:Pod":
        spec = mapping(mapping(spec.get("template")).get("spec"))
    return spec


def _workloads(stack: StackView) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for resource in stack.of_type(*LONG_RUNNING, *BATCH, CRON):
        yield resource, _pod_spec(resource)


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(spec.get("initContainers")) + as_list(spec.get("containers"))


def _non_root(stack: StackView) -> Iterator[Finding]:
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


def _unprivileged(stack: StackView) -> Iterator[Finding]:
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


def _no_escalation(stack: StackView) -> Iterator[Finding]:
    for workload, spec in _workloads(stack):
        for container in _containers(spec):
            context = mapping(container.get("securityContext"))
            if context.get("allowPrivilegeEscalation") is not False:
                yield Finding(
                    workload,
                    f"{label(workload)} container '{container.get('name')}' allows privilege "
                    "escalation; set securityContext allowPrivilegeEscalation: false",
                )


def _resources(stack: StackView) -> Iterator[Finding]:
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


def _probes(stack: StackView) -> Iterator[Finding]:
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
