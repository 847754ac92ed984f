"""Helm releases from pinned charts: an upgrade is a reviewed change, never a surprise at deploy.

Each chart is `(repository, chart, version)`; the values every stack shares are a file in
infra/assets/values/, and what differs per stack is merged over them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.components.assets import VALUES_DIR

KUBE_SYSTEM = "kube-system"
PinnedChart = tuple[str, str, str]
"""(repository URL, chart, version)."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`, recursing into mappings; lists and scalars are replaced."""
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(
                cast(Mapping[str, Any], current), cast(Mapping[str, Any], value)
            )
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def chart_values(values_file: str, per_stack: Mapping[str, Any]) -> dict[str, Any]:
    """infra/assets/values/<values_file>.yaml with the stack's values merged over it."""
    path = VALUES_DIR / f"{values_file}.yaml"
    shared: Any = yaml.safe_load(path.read_text())
    if not isinstance(shared, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return deep_merge(cast(dict[str, Any], shared), per_stack)


def pinned_release(
    resource_name: str,
    release: str,
    pinned_chart: PinnedChart,
    values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    *,
    namespace: pulumi.Input[str] = KUBE_SYSTEM,
    timeout: int | None = None,
) -> k8s.helm.v3.Release:
    """A Helm release of a pinned chart; in kube-system unless another namespace is given."""
    repo, chart, version = pinned_chart
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=release,
            namespace=namespace,
            chart=chart,
            version=version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
            values=values,
            timeout=timeout,
        ),
        opts=opts,
    )
