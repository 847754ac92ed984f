"""Each real stack is synthesized once per session, kept as graphs and written to disk like
`python -m infra_tools synth` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_tools.synth import Synthesis, synthesize, write_synthesis
from tests.infra.conftest import STACKS, dev, local, prod
from tests.infra.graph import Graph

# dev, prod and local are tests/infra's fixtures; here they read the `graphs` below, so the
# tools' tests synthesize each stack once.
__all__ = ["dev", "local", "prod"]


@pytest.fixture(scope="session")
def syntheses() -> dict[str, Synthesis]:
    return {stack: synthesize(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def graphs(syntheses: dict[str, Synthesis]) -> dict[str, Graph]:
    return {stack: synthesis.graph for stack, synthesis in syntheses.items()}


@pytest.fixture(scope="session")
def synth_dirs(
    syntheses: dict[str, Synthesis], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    for stack, synthesis in syntheses.items():
        write_synthesis(synthesis, root / stack)
    return {stack: root / stack for stack in STACKS}
