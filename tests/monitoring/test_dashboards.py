"""Dashboards parse, every panel queries something, and each board has the panels it promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.components import assets
from infra.components import monitoring_files as files

EXPECTED_PANELS = {
    "serving.json": [
        "Requests per second",
        "p50 / p99",
        "Error rate",
        "Model version",
        "Logs",
        "Captures",
    ],
    "model-quality.json": [
        "drift (PSI)",
        "Prediction distribution",
        "Live accuracy",
        "Feedback volume",
        "Precision by class",
        "Recall by class",
        "F1 by class",
    ],
    "gpu-training.json": ["GPU utilisation", "GPU memory", "GPU power", "job duration", "Logs"],
    "platform-cost.json": ["GPU node-hours", "Nodes by pool"],
}


def _board(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_every_expected_dashboard_exists() -> None:
    names = {path.name for path in files.dashboard_files()}
    assert set(EXPECTED_PANELS) <= names, f"missing: {sorted(set(EXPECTED_PANELS) - names)}"


@pytest.mark.parametrize("path", files.dashboard_files(), ids=lambda p: p.name)
def test_every_panel_has_a_query(path: Path) -> None:
    board = _board(path)
    assert board["panels"], f"{path.name} has no panels"
    for panel in board["panels"]:
        # PromQL in `expr`; CloudWatch Logs Insights in `expression`.
        exprs = [
            (t.get("expr") or t.get("expression") or "").strip() for t in panel.get("targets", [])
        ]
        assert exprs and all(exprs), f"{path.name}: panel {panel.get('title')!r} has no query"


@pytest.mark.parametrize("path", files.dashboard_files(), ids=lambda p: p.name)
def test_dashboard_has_a_unique_uid_and_unique_panel_ids(path: Path) -> None:
    board = _board(path)
    ids = [panel["id"] for panel in board["panels"]]
    assert board.get("uid") and len(ids) == len(set(ids)), f"{path.name}: uid or panel ids"
    uids = [_board(p)["uid"] for p in files.dashboard_files()]
    assert len(uids) == len(set(uids)), f"dashboard uids collide: {uids}"


@pytest.mark.parametrize(("name", "titles"), EXPECTED_PANELS.items())
def test_dashboard_has_its_promised_panels(name: str, titles: list[str]) -> None:
    present = [panel["title"] for panel in _board(assets.DASHBOARDS_DIR / name)["panels"]]
    for title in titles:
        assert any(title in p for p in present), f"{name}: no panel about {title!r}: {present}"


@pytest.mark.parametrize("path", files.dashboard_files(), ids=lambda p: p.name)
def test_log_panels_query_the_data_source_the_stack_provisions(path: Path) -> None:
    """A log panel loads only from the CloudWatch data source Grafana is given (its uid), and
    reads the workload's namespace from the stack's container log group."""
    for panel in _board(path)["panels"]:
        if panel["type"] != "logs":
            continue
        assert panel["datasource"]["uid"] == files.LOGS_DATASOURCE_UID, panel["title"]
        for target in panel["targets"]:
            assert target["queryMode"] == "Logs", panel["title"]
            assert "kubernetes.namespace_name" in target["expression"], panel["title"]


LIVE_QUALITY_PANELS = ("Live accuracy", "Feedback volume", "Precision", "Recall", "F1")


@pytest.mark.parametrize("title", LIVE_QUALITY_PANELS)
def test_live_quality_panels_show_what_the_alert_judges(title: str) -> None:
    """Live quality is summed over pods by the model rules' recorded series; a panel that
    read a per-pod value would disagree with LiveAccuracyDrop (and read 0 on an idle pod)."""
    recorded = {
        rule["record"]
        for group in files.read_yaml(assets.RULES_DIR / "model.rules.yaml")["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    board = _board(assets.DASHBOARDS_DIR / "model-quality.json")
    (panel,) = [p for p in board["panels"] if p["title"].startswith(title)]
    exprs = [target["expr"] for target in panel["targets"]]
    assert exprs and all(expr in recorded for expr in exprs), f"{panel['title']}: {exprs}"
