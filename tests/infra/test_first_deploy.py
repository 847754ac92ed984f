"""The first deploy of a stack on an empty account, in the order docs/operations.md gives it: what
each stage declares, so no stage waits on something that cannot exist yet."""

from __future__ import annotations

from pathlib import Path

from infra_tools.synth import synthesize
from infra_tools.type_tokens import (
    EC2_VPC,
    ECR_REPOSITORY,
    EKS_CLUSTER,
    KUBERNETES_PREFIX,
    S3_BUCKET,
)
from tests.infra.stackfiles import stack_root_with


def test_prods_network_stage_declares_the_vpc_and_stores_but_no_cluster(tmp_path: Path) -> None:
    """Prod's API endpoint is private, so its deploy runner must live in (or be connected to)
    the stack's VPC; the guide's first stage creates that VPC, the bucket and the repository
    with the cluster, monitoring and tracking switched off."""
    root = stack_root_with(
        tmp_path,
        "prod",
        {
            "mlops-platform:cluster.enabled": False,
            "mlops-platform:monitoring.enabled": False,
            "mlops-platform:tracking.enabled": False,
        },
    )
    graph = synthesize("prod", root).graph
    assert graph.of_type(EC2_VPC) and graph.of_type(ECR_REPOSITORY)
    assert graph.of_type(S3_BUCKET)
    assert not graph.of_type(EKS_CLUSTER)
    assert not [r for r in graph.resources if r["type"].startswith(KUBERNETES_PREFIX)]
    assert graph.outputs["privateSubnetIds"], "the runner needs a subnet to live in"
