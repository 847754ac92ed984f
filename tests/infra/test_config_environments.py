"""Bad environment config is refused before anything is declared, with the key, rule and fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError
from infra.config.network import plan_subnets
from infra_tools.synth import synthesize
from infra_tools.synth.stackfile import PROJECT_ROOT

# Slow: a synth process per bad stack file; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

NS = "mlops-platform"

CASES: list[tuple[str, str, str, dict[str, Any], str]] = [
    (
        "az-count-1-in-prod",
        "prod",
        "network",
        {"azCount": 1},
        "Pulumi.prod.yaml: mlops-platform:network.azCount=1 must be >= 2 in prod "
        "(high availability); set it to 2 or 3",
    ),
    (
        "service-cidr-overlaps-vpc",
        "dev",
        "network",
        {"serviceCidr": "10.20.128.0/20"},
        "Pulumi.dev.yaml: mlops-platform:network: serviceCidr=10.20.128.0/20 overlaps "
        "cidr=10.20.0.0/16; pod traffic to services would be misrouted. Choose "
        "non-overlapping ranges, e.g. serviceCidr 172.20.0.0/16 with a 10.x VPC",
    ),
    (
        "cidr-too-small-for-zones",
        "prod",
        "network",
        {"cidr": "10.30.0.0/22"},
        "Pulumi.prod.yaml: mlops-platform:network: cidr=10.30.0.0/22 with azCount=3 cannot "
        "hold 3 private subnets of at least /24 (they would be /25); use a /21 or larger "
        "CIDR, or fewer zones",
    ),
    (
        "invalid-cidr",
        "dev",
        "network",
        {"cidr": "10.20.0.1/16"},
        'Pulumi.dev.yaml: mlops-platform:network.cidr="10.20.0.1/16" is not an IPv4 network '
        "in CIDR form (10.20.0.1/16 has host bits set); use e.g. 10.0.0.0/16",
    ),
    (
        "gpu-type-without-gpu",
        "dev",
        "capacity",
        {"gpu": {"instanceTypes": ["m6i.xlarge"]}},
        "Pulumi.dev.yaml: mlops-platform:capacity.gpu: instanceTypes entry 'm6i.xlarge' has "
        "no NVIDIA GPU; use a type from the families g4dn, g5, g5g, g6, g6e, gr6, p3, p3dn, "
        "p4d, p4de, p5, p5e, p5en",
    ),
    (
        "efa-on-a-type-without-efa",
        "prod",
        "capacity",
        {"gpu": {"instanceTypes": ["g5.xlarge"], "efa": True}},
        "Pulumi.prod.yaml: mlops-platform:capacity.gpu: efa=true but instanceTypes "
        "['g5.xlarge'] have no Elastic Fabric Adapter; use e.g. g5.12xlarge or p4d.24xlarge, "
        "or set efa to false",
    ),
    (
        "max-below-min",
        "dev",
        "capacity",
        {"system": {"instanceTypes": ["m6i.large"], "minSize": 3, "maxSize": 2}},
        "Pulumi.dev.yaml: mlops-platform:capacity.system: maxSize=2 is below minSize=3; "
        "raise maxSize or lower minSize",
    ),
    (
        "public-endpoint-without-cidrs",
        "dev",
        "cluster",
        {"endpointPublicAccess": True, "publicAccessCidrs": []},
        "Pulumi.dev.yaml: mlops-platform:cluster: endpointPublicAccess=true needs "
        "publicAccessCidrs (the ranges allowed in); list them or set endpointPublicAccess "
        "to false",
    ),
    (
        "public-endpoint-open-to-the-internet",
        "dev",
        "cluster",
        {"publicAccessCidrs": ["0.0.0.0/0"]},
        "Pulumi.dev.yaml: mlops-platform:cluster.publicAccessCidrs: entry '0.0.0.0/0' opens "
        "the API to the whole internet; list your office or VPN ranges instead",
    ),
    (
        "public-endpoint-in-prod",
        "prod",
        "cluster",
        {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
        "Pulumi.prod.yaml: mlops-platform:cluster.endpointPublicAccess=true must be false in "
        "prod (private API endpoint); reach it through the VPC or a VPN",
    ),
]


def _stack_copy(tmp_path: Path, stack: str, section: str, changes: dict[str, Any]) -> Path:
    for path in PROJECT_ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    stack_file = tmp_path / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    values = document["config"].setdefault(f"{NS}:{section}", {})
    values.update(changes)
    stack_file.write_text(yaml.safe_dump(document))
    return tmp_path


@pytest.mark.parametrize(
    ("stack", "section", "changes", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_config_is_refused_with_key_rule_and_fix(
    tmp_path: Path, stack: str, section: str, changes: dict[str, Any], message: str
) -> None:
    root = _stack_copy(tmp_path, stack, section, changes)
    with pytest.raises(ConfigError) as caught:
        synthesize(stack, root=root)
    assert caught.value.problems == [message]


@pytest.mark.parametrize(
    ("stack", "section", "changes", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_synth_command_exits_2_with_the_message(
    tmp_path: Path, stack: str, section: str, changes: dict[str, Any], message: str
) -> None:
    root = _stack_copy(tmp_path, stack, section, changes)
    result = subprocess.run(
        [sys.executable, "-m", "infra_tools", "synth", "--stack", stack,
         "--project-dir", str(root), "--out", str(tmp_path / "out")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"error: {message}" in result.stderr.splitlines()
    assert not (tmp_path / "out").exists(), "nothing may be written for a refused config"


@pytest.mark.parametrize(
    ("cidr", "zones"), [("10.0.0.0/16", 3), ("10.0.0.0/20", 6), ("10.0.0.0/22", 2)]
)
def test_subnet_plan_gives_each_zone_distinct_subnets_inside_the_vpc(cidr: str, zones: int) -> None:
    plan = plan_subnets(cidr, zones)
    assert len(plan.private) == len(plan.public) == zones
    assert len(set(plan.private + plan.public)) == 2 * zones
