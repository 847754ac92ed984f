"""Each stack is synthesized once per session; tests query the resulting graph."""

from __future__ import annotations

import pytest

from infra_tools.synth import synthesize
from tests.infra.graph import Graph

STACKS = ("dev", "prod", "local")


@pytest.fixture(scope="session")
def graphs() -> dict[str, Graph]:
    return {stack: synthesize(stack).graph for stack in STACKS}


@pytest.fixture(scope="session")
def dev(graphs: dict[str, Graph]) -> Graph:
    return graphs["dev"]


@pytest.fixture(scope="session")
def prod(graphs: dict[str, Graph]) -> Graph:
    return graphs["prod"]


@pytest.fixture(scope="session")
def local(graphs: dict[str, Graph]) -> Graph:
    return graphs["local"]
