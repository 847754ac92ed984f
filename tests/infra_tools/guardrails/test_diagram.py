"""`python -m infra_tools diagram`: one box per component by default, every resource on request."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from infra_tools.cli import main
from infra_tools.guardrails.diagram import DiagramError, render, to_dot
from infra_tools.synth import Synthesis
from infra_tools.type_tokens import KMS_KEY, S3_BUCKET
from tests.infra_tools.guardrails.cases import make

_NODE = re.compile(r"^\s*(c\d+) \[label=<<b>([^<]+)</b>", re.MULTILINE)
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.MULTILINE)


def _boxes(dot: str) -> dict[str, str]:
    return dict(_NODE.findall(dot))


def test_dev_components_view_has_one_box_per_component_and_no_resource_nodes(
    syntheses: dict[str, Synthesis],
) -> None:
    dot = to_dot("dev", syntheses["dev"].resources)
    titles = sorted(title.split(" · ")[0] for title in _boxes(dot).values())
    assert titles == sorted(
        [
            "Network",
            "EksCluster",
            "Capacity",
            "ClusterAddons",
            "ModelStore",
            "ServiceAccountRole",
            "ServiceAccountRole",
            "ServiceAccountRole",
            "Tracking",
            "Namespaces",
            "Serving",
            "Training",
            "RetrainTrigger",
            "Monitoring",
            "Workflows",
            "LogStore",
            "LogShipping",
        ]
    ), titles
    node_ids = set(re.findall(r"^\s*(\w+) \[", dot, re.MULTILINE)) - {"node", "edge"}
    assert node_ids == set(_boxes(dot)), f"resource-level nodes: {node_ids}"
    assert "NatInstance" not in dot, "nested components must fold into their top-level box"


def test_boxes_summarise_key_resources_from_the_inputs(syntheses: dict[str, Synthesis]) -> None:
    dev = to_dot("dev", syntheses["dev"].resources)
    prod = to_dot("prod", syntheses["prod"].resources)
    assert "NAT instance t4g.nano" in dev and "NAT gateway" not in dev
    network = next(line for line in prod.splitlines() if "<b>Network</b>" in line)
    assert "3 NAT gateways" in network
    assert "S3 bucket models (versioned, SSE-KMS" in dev
    # New data announced to each model's retrain trigger: the notification, its queue, its DLQ.
    for model, prefix in (
        ("iris-classifier", "datasets/iris/"),
        ("wine-classifier", "datasets/wine-classifier/"),
    ):
        assert f"notifies SQS of s3:ObjectCreated:* under {prefix}" in dev
        queue = rf"SQS queue dataset-events-{model}-queue \(SSE-SQS, DLQ after \d+ receives\)"
        assert re.search(queue, dev), model
        assert f"SQS queue dataset-events-{model}-dlq (SSE-SQS, dead letters)" in dev
    assert re.search(r"pool gpu: 0-\d+ x g5\.xlarge\S* spot", dev), "dev's gpu pool line"
    assert "private API endpoint" in prod and "public API endpoint" in dev


def test_local_has_no_cluster_layer(syntheses: dict[str, Synthesis]) -> None:
    dot = to_dot("local", syntheses["local"].resources)
    assert "cluster_aws" in dot
    assert "cluster_cluster" not in dot and "cluster_workloads" not in dot
    assert sorted(_boxes(dot).values()) == ["ModelStore", "Network"]


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_edges_connect_distinct_components_only(
    stack: str, syntheses: dict[str, Synthesis]
) -> None:
    dot = to_dot(stack, syntheses[stack].resources)
    boxes = _boxes(dot)
    edges = _EDGE.findall(dot)
    assert len(edges) == len(set(edges)), "duplicate edges"
    for source, target in edges:
        assert source in boxes and target in boxes, f"edge {source}->{target} leaves the boxes"
        assert source != target, f"self-edge on {boxes[source]}"


def test_serving_reads_the_model_bucket_through_its_role(syntheses: dict[str, Synthesis]) -> None:
    dot = to_dot("dev", syntheses["dev"].resources)
    ids = {title: node for node, title in _boxes(dot).items()}
    role, store = ids["ServiceAccountRole · serving"], ids["ModelStore"]
    assert re.search(rf"{ids['Serving · serving']} -> {role} \[label=\"assumes role", dot)
    # It writes prediction captures too (captures/).
    assert re.search(rf'{role} -> {store} \[label="[^"]*S3 read/write"', dot), "serving's S3 flow"


def test_dot_output_is_deterministic(syntheses: dict[str, Synthesis]) -> None:
    resources = syntheses["prod"].resources
    assert to_dot("prod", resources) == to_dot("prod", list(resources))
    assert to_dot("prod", resources, "resources") == to_dot("prod", resources, "resources")


def test_resources_view_still_groups_and_collapses_by_type() -> None:
    store = make("mlops-platform:storage:ModelStore", "store", {})
    buckets = [make(S3_BUCKET, name, {}) for name in ("a", "b")]
    for bucket in buckets:
        bucket["parent"] = store["urn"]
    key = make(KMS_KEY, "key", {})
    buckets[0]["dependencies"] = [key["urn"]]
    dot = to_dot("t", [store, *buckets, key], "resources")
    assert 'label="store (ModelStore)"' in dot
    assert '"Bucket x2"' in dot
    assert "->" in dot


def _require_dot() -> None:
    if shutil.which("dot") is None:
        pytest.fail("graphviz's `dot` is missing; run `make graphviz`", pytrace=False)


@pytest.mark.parametrize("detail", ["components", "resources"])
@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_stack_renders_an_svg(
    stack: str, detail: str, syntheses: dict[str, Synthesis], tmp_path: Path
) -> None:
    _require_dot()
    out = tmp_path / f"{stack}.svg"
    render(to_dot(stack, syntheses[stack].resources, detail), out)
    assert "<svg" in out.read_text()


def test_unknown_output_format_is_rejected_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DiagramError, match=r"\.svg or \.png"):
        render("digraph {}", tmp_path / "out.pdf")


def test_unknown_detail_is_rejected_naming_the_choices(
    syntheses: dict[str, Synthesis],
) -> None:
    with pytest.raises(DiagramError, match=r"--detail 'boxes'.*components, resources"):
        to_dot("dev", syntheses["dev"].resources, "boxes")


def test_cli_reports_a_bad_detail_as_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["diagram", "--stack", "local", "--detail", "all", "--out", str(tmp_path / "a.svg")]
    )
    assert code == 2
    assert "--detail 'all'" in capsys.readouterr().err


def test_the_tracking_box_shows_the_server_and_its_database(
    syntheses: dict[str, Synthesis],
) -> None:
    dot = to_dot("prod", syntheses["prod"].resources)
    (box,) = [line for line in dot.splitlines() if "<b>Tracking" in line]
    assert "RDS postgres" in box and "Multi-AZ" in box, box
    assert "Deployment mlflow x2" in box and "Service mlflow (ClusterIP)" in box, box
    ids = {title: node for node, title in _boxes(dot).items()}
    assert re.search(rf'{ids["Tracking · tracking"]} -> {ids["ModelStore"]} \[label="[^"]*S3', dot)
