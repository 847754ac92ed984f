"""The tracking server's alert is deployed with the stacks and watches the shared names."""

from __future__ import annotations

import pytest

from infra import contracts
from tests.infra.graph import Graph


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tracking_server_down_is_deployed_and_watches_the_server(
    graphs: dict[str, Graph], stack: str
) -> None:
    rule = graphs[stack].manifest("PrometheusRule", "mlops-tracking")
    (alert,) = [
        r
        for group in rule["spec"]["groups"]
        for r in group["rules"]
        if r.get("alert") == "TrackingServerDown"
    ]
    expr = alert["expr"]
    assert f'namespace="{contracts.TRACKING_NAMESPACE}"' in expr
    assert f'job="{contracts.TRACKING_SERVER}"' in expr, "the ServiceMonitor's job is the Service"
    assert f'deployment="{contracts.TRACKING_SERVER}"' in expr
    assert alert["labels"]["severity"] == "critical"
