"""Every metric a rule or dashboard queries exists in the app's registry or an exporter."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.components import assets
from infra.components import monitoring_files as files
from tests.monitoring.promql import metric_names

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created", ""),
    "info": ("_info",),
}


def app_metric_names() -> set[str]:
    from app.metrics import REGISTRY

    names: set[str] = set()
    for family in REGISTRY.collect():
        for suffix in _SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md"


def exporter_metric_names() -> set[str]:
    lists = files.read_yaml(assets.EXPORTER_METRICS_FILE)
    return {name for names in lists.values() for name in names}


def recorded_names() -> set[str]:
    """Series the recording rules create; rules and panels may query them."""
    return {
        str(rule["record"])
        for path in files.rule_files()
        for group in files.read_yaml(path)["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def _rule_exprs() -> list[tuple[str, str]]:
    return [
        (f"{path.name}:{rule.get('alert') or rule.get('record')}", rule["expr"])
        for path in files.rule_files()
        for group in files.read_yaml(path)["groups"]
        for rule in group["rules"]
    ]


def _panel_exprs() -> list[tuple[str, str]]:
    found = []
    for path in files.dashboard_files():
        board: dict[str, Any] = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append((f"{path.name}:{panel['title']}", target.get("expr", "")))
    return found


def test_promql_name_extraction_sees_through_functions_and_matchers() -> None:
    expr = 'sum by (le) (rate(a_bucket{x="b_c"}[5m])) / on () b_total and c offset 1h'
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


def test_app_registry_is_importable() -> None:
    assert "mlops_http_requests_total" in app_metric_names()


@pytest.mark.parametrize(("where", "expr"), _rule_exprs() + _panel_exprs(), ids=lambda v: v)
def test_query_uses_only_known_metrics(where: str, expr: str) -> None:
    known = app_metric_names() | exporter_metric_names() | recorded_names()
    unknown = metric_names(expr) - known
    assert not unknown, (
        f"{where} queries {sorted(unknown)}, which neither app.metrics.REGISTRY, "
        f"{assets.EXPORTER_METRICS_FILE} nor a recording rule knows"
    )


@pytest.mark.parametrize("name", sorted(recorded_names()))
def test_recorded_series_are_named_level_metric_operation_after_a_known_metric(name: str) -> None:
    """Prometheus's convention, `level:metric:operations`, with an mlops_ metric in the middle
    so a reader finds where the series comes from."""
    level, metric, operation = [*name.split(":"), "", ""][:3]
    assert level and operation and metric.startswith("mlops_"), name


def test_contracts_lists_every_app_metric_and_no_other() -> None:
    from app.metrics import REGISTRY

    section = CONTRACTS.read_text(encoding="utf-8").split("## App metrics")[1].split("\n## ")[0]
    documented = set(re.findall(r"`(mlops_[a-z_]+)", section))
    exposed = {f.name + ("_total" if f.type == "counter" else "") for f in REGISTRY.collect()}
    assert documented == exposed, (
        f"{CONTRACTS.name} 'App metrics' lacks {sorted(exposed - documented)} and lists "
        f"{sorted(documented - exposed)}, which app.metrics does not define"
    )
