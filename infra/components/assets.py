"""Where the data beside the code lives: infra/assets/.

    values/                    Helm values every stack shares (per-stack values merge over them)
    rules/*.rules.yaml         Prometheus alert rules, one PrometheusRule per file
    rule-tests/*.test.yaml     promtool unit tests of those rules
    dashboards/*.json          Grafana dashboards, one ConfigMap each
    alertmanager.yaml          Alert routing; receivers are added per stack
    exporter-metrics.yaml      Metrics the exporters expose (rules and dashboards may query them)
    nat-instance-user-data.sh  The NAT instance's boot script

Plain paths only: importing this module reads and declares nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

ASSETS_DIR: Final = Path(__file__).resolve().parents[1] / "assets"
VALUES_DIR: Final = ASSETS_DIR / "values"
RULES_DIR: Final = ASSETS_DIR / "rules"
RULE_TESTS_DIR: Final = ASSETS_DIR / "rule-tests"
DASHBOARDS_DIR: Final = ASSETS_DIR / "dashboards"
ALERTMANAGER_FILE: Final = ASSETS_DIR / "alertmanager.yaml"
EXPORTER_METRICS_FILE: Final = ASSETS_DIR / "exporter-metrics.yaml"
NAT_INSTANCE_USER_DATA: Final = ASSETS_DIR / "nat-instance-user-data.sh"
