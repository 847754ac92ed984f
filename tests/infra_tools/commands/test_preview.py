"""`python -m infra_tools preview`: the human summary of a stack."""

from __future__ import annotations

from infra_tools.commands.preview import summarize
from tests.infra.graph import Graph


def test_prod_preview_shows_high_availability_and_protection(prod: Graph) -> None:
    text = summarize(prod)
    assert "zones: 3, NAT gateways: 3, NAT instances: 0" in text
    assert "EKS 1.33, API endpoint private" in text
    assert "node pool mlops-prod-gpu: 0-" in text, "the GPU pool scales from zero"
    protected = text.split("Protected from deletion: ")[1].splitlines()[0]
    assert "mlops-prod-models" in protected


def test_dev_preview_shows_the_cheap_choices(dev: Graph) -> None:
    text = summarize(dev)
    assert "zones: 2, NAT gateways: 0, NAT instances: 1" in text
    assert "Protected from deletion: none" in text
    assert all(line == line.rstrip() for line in text.splitlines()), "no trailing blanks"
