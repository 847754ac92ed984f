"""The local stack's declared graph, which every verify test checks a deployment against."""

from __future__ import annotations

import pytest

from infra_tools.graph import ResourceGraph
from infra_tools.synth import synthesize


@pytest.fixture(scope="module")
def local() -> ResourceGraph:
    return synthesize("local").graph
