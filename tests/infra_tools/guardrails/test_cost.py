"""`python -m infra_tools cost`: per-resource lines, idle and busy totals, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra_tools.guardrails.cost import CostError, as_table, estimate, price_table
from infra_tools.synth import Synthesis
from infra_tools.synth.stackfile import PROJECT_ROOT
from infra_tools.type_tokens import (
    EC2_INSTANCE,
    EC2_NAT_GATEWAY,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    RDS_INSTANCE,
    SQS_QUEUE,
)
from tests.infra_tools.guardrails.cases import make, queue_set


def _node_group(
    minimum: int, maximum: int, instance: str, capacity: str = "ON_DEMAND"
) -> dict[str, object]:
    return make(
        EKS_NODE_GROUP,
        f"pool-{instance}",
        {
            "scalingConfig": {"minSize": minimum, "maxSize": maximum, "desiredSize": minimum},
            "instanceTypes": [instance],
            "capacityType": capacity,
            "diskSize": 50,
        },
    )


def test_node_pools_cost_their_minimum_when_idle_and_maximum_when_busy() -> None:
    table = price_table()
    hours = table["hoursPerMonth"]
    result = estimate("t", [_node_group(0, 2, "g5.xlarge", "SPOT"), _node_group(2, 4, "m6i.large")])
    spot, on_demand = (
        table["instances"]["g5.xlarge"]["spot"],
        table["instances"]["m6i.large"]["onDemand"],
    )
    disk = 50 * table["prices"]["ebsGp3GbMonth"]["usd"]
    assert result.idle == pytest.approx(2 * (on_demand * hours + disk), abs=0.02)
    assert result.busy == pytest.approx(
        2 * spot * hours + 4 * on_demand * hours + 6 * disk, abs=0.05
    )


def test_control_plane_and_nat_use_the_listed_hourly_prices() -> None:
    result = estimate(
        "t",
        [
            make(EKS_CLUSTER, "eks", {}),
            make(EC2_NAT_GATEWAY, "nat", {}),
        ],
    )
    lines = {line.resource: line for line in result.lines}
    assert lines["eks"].idle == pytest.approx(73.0)
    assert lines["nat"].idle == pytest.approx(0.045 * 730 + 0.045 * 20, abs=0.01)


def test_unknown_instance_type_names_the_pool_and_the_fix() -> None:
    with pytest.raises(CostError, match=r"node group pool-x9\.huge.*'x9\.huge'.*prices\.yaml"):
        estimate("t", [_node_group(1, 2, "x9.huge")])


def test_every_price_names_its_source_and_date() -> None:
    for key, row in price_table()["prices"].items():
        assert row["source"].startswith("https://") and row["date"], key


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_stack_is_priced(stack: str, syntheses: dict[str, Synthesis]) -> None:
    result = estimate(stack, syntheses[stack].resources)
    assert result.busy >= result.idle > 0
    assert "TOTAL" in as_table(result)


def test_dev_gpu_pool_costs_nothing_while_idle(syntheses: dict[str, Synthesis]) -> None:
    result = estimate("dev", syntheses["dev"].resources)
    gpu = [
        line
        for line in result.lines
        if "g5" in line.item or "g6" in line.item or "g4dn" in line.item
    ]
    assert gpu and all(line.idle == 0 for line in gpu), as_table(result)
    assert result.idle < estimate("prod", syntheses["prod"].resources).idle


def test_nat_instance_costs_its_hours_and_root_volume_without_a_data_charge() -> None:
    table = price_table()
    result = estimate(
        "t",
        [
            make(
                EC2_INSTANCE,
                "nat",
                {"instanceType": "t4g.nano", "rootBlockDevice": {"volumeSize": 8}},
            )
        ],
    )
    hourly = table["instances"]["t4g.nano"]["onDemand"] * table["hoursPerMonth"]
    disk = 8 * table["prices"]["ebsGp3GbMonth"]["usd"]
    assert [line.idle for line in result.lines] == [pytest.approx(hourly, abs=0.01), disk]
    assert result.idle == result.busy, "a NAT instance does not scale with the pools"


def test_dev_idle_stays_at_or_under_the_120_dollar_target(
    syntheses: dict[str, Synthesis],
) -> None:
    result = estimate("dev", syntheses["dev"].resources)
    assert result.idle <= 120, as_table(result)
    items = {line.item for line in result.lines}
    assert not any("NAT gateway" in item or "NLB" in item for item in items), as_table(result)


def test_cost_command_reports_dev_idle_within_target() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra_tools", "cost", "--stack", "dev", "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["idleTotal"] <= 120, result.stdout


def _database(**inputs: object) -> dict[str, object]:
    return make(
        RDS_INSTANCE,
        "db",
        {"instanceClass": "db.t4g.micro", "allocatedStorage": 20, **inputs},
    )


def test_a_multi_az_database_costs_twice_its_instance_and_storage() -> None:
    single = estimate("t", [_database(multiAz=False)])
    double = estimate("t", [_database(multiAz=True)])
    assert double.idle == pytest.approx(2 * single.idle, abs=0.02)
    table = price_table()
    hourly = table["databases"]["db.t4g.micro"] * table["hoursPerMonth"]
    storage = 20 * table["prices"]["rdsGp3GbMonth"]["usd"]
    assert single.idle == pytest.approx(hourly + storage, abs=0.02)


def test_backups_beyond_free_and_the_managed_secret_are_priced() -> None:
    table = price_table()
    plain = estimate("t", [_database(backupRetentionPeriod=0)])
    full = estimate("t", [_database(backupRetentionPeriod=7, manageMasterUserPassword=True)])
    change = table["usage"]["dbBackupChangeGbPerDay"]["value"]
    extra = 7 * change * table["prices"]["rdsBackupGbMonth"]["usd"]
    extra += table["prices"]["secretMonth"]["usd"]
    assert full.idle - plain.idle == pytest.approx(extra, abs=0.02)
    assert any("Secrets Manager" in line.item for line in full.lines)


def test_unknown_database_class_names_the_database_and_the_fix() -> None:
    with pytest.raises(CostError, match=r"database db.*'db\.x9\.huge'.*'databases'.*prices\.yaml"):
        estimate("t", [_database(instanceClass="db.x9.huge")])


def test_dev_prices_its_tracking_database(syntheses: dict[str, Synthesis]) -> None:
    lines = [
        line
        for line in estimate("dev", syntheses["dev"].resources).lines
        if line.type == "Instance" and line.resource.endswith("tracking-db")
    ]
    items = " | ".join(line.item for line in lines)
    assert "Single-AZ" in items and "Secrets Manager" in items, items


def test_queues_cost_only_their_requests_beyond_the_free_tier() -> None:
    """SQS has no hourly charge: the dataset queue's long polls fit the free tier, so a stack
    idles at the same price with it; a heavier consumer pays per million beyond it."""
    table = price_table()
    assert estimate("t", queue_set()).idle == 0, as_table(estimate("t", queue_set()))
    heavy = {**table, "usage": {**table["usage"], "sqsRequestMillionPerQueue": {"value": 3}}}
    result = estimate("t", queue_set(), heavy)
    per_million = table["prices"]["sqsRequestMillion"]["usd"]
    free = table["usage"]["sqsFreeRequestMillion"]["value"]
    assert result.idle == pytest.approx((3 - free) * per_million), as_table(result)


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_queue_of_a_stack_has_a_cost_line(
    stack: str, syntheses: dict[str, Synthesis]
) -> None:
    resources = syntheses[stack].resources
    queues = {r["name"] for r in resources if r["type"] == SQS_QUEUE}
    lines = {line.resource for line in estimate(stack, resources).lines if "SQS" in line.item}
    assert queues and lines == queues, (queues, lines)
