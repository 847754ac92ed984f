"""`python -m infra diagram`: components become clusters; every stack renders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.guardrails.diagram import DiagramError, render, to_dot
from infra.synth import Synthesis
from tests.guardrails.cases import make


def _component() -> dict[str, object]:
    component = make("mlops-platform:storage:ModelStore", "store", {})
    component["custom"] = False
    return component


def test_resources_are_grouped_under_their_component_and_collapsed_by_type() -> None:
    store = _component()
    buckets = [make("aws:s3/bucket:Bucket", name, {}) for name in ("a", "b")]
    for bucket in buckets:
        bucket["parent"] = store["urn"]
    key = make("aws:kms/key:Key", "key", {})
    buckets[0]["dependencies"] = [key["urn"]]
    dot = to_dot("t", [store, *buckets, key])
    assert 'label="store (ModelStore)"' in dot
    assert '"Bucket x2"' in dot
    assert "->" in dot


def _require_dot() -> None:
    if shutil.which("dot") is None:
        pytest.fail("graphviz's `dot` is missing; run `make graphviz`", pytrace=False)


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_stack_renders_an_svg(
    stack: str, syntheses: dict[str, Synthesis], tmp_path: Path
) -> None:
    _require_dot()
    out = tmp_path / f"{stack}.svg"
    render(to_dot(stack, syntheses[stack].resources), out)
    assert "<svg" in out.read_text()


def test_unknown_output_format_is_rejected_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DiagramError, match=r"\.svg or \.png"):
        render("digraph {}", tmp_path / "out.pdf")
