"""The first deploy of a stack on an empty account, in the order the README gives it: what
each stage declares, so no stage waits on something that cannot exist yet."""

from __future__ import annotations

from pathlib import Path

from infra_tools.ci.bootstrap import bootstrap_targets
from infra_tools.synth import synthesize
from tests.infra.graph import Graph
from tests.infra.stackfiles import stack_root_with

REPOSITORY = "aws:ecr/repository:Repository"


def test_the_image_repository_stage_targets_exactly_the_repository(dev: Graph) -> None:
    """The deploy job's first `pulumi up` (`--target` these, `--target-dependencies`) must
    create the repository the first images are pushed to, and nothing on the cluster."""
    targets = bootstrap_targets(dev.resources)
    assert targets == [r["urn"] for r in dev.of_type(REPOSITORY)] and len(targets) == 1
    repository = dev.by_urn(targets[0])
    for urn in repository["dependencies"]:
        assert not dev.by_urn(urn)["type"].startswith("kubernetes:"), urn


def test_prods_network_stage_declares_the_vpc_and_stores_but_no_cluster(tmp_path: Path) -> None:
    """Prod's API endpoint is private, so its deploy runner must live in (or be connected to)
    the stack's VPC; the README's first stage creates that VPC, the bucket and the repository
    with the cluster and monitoring switched off."""
    root = stack_root_with(
        tmp_path,
        "prod",
        {"mlops-platform:cluster.enabled": False, "mlops-platform:monitoring.enabled": False},
    )
    graph = Graph(synthesize("prod", root))
    assert graph.of_type("aws:ec2/vpc:Vpc") and graph.of_type(REPOSITORY)
    assert graph.of_type("aws:s3/bucket:Bucket")
    assert not graph.of_type("aws:eks/cluster:Cluster")
    assert not [r for r in graph.resources if r["type"].startswith("kubernetes:")]
    assert graph.outputs["privateSubnetIds"], "the runner needs a subnet to live in"
